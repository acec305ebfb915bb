//! Test support: the runner of the fuzz targets, proptest properties that
//! feed arbitrary and mutated inputs to a decoder and check that it never
//! panics and that what it accepts is consistent. Compiled for unit tests
//! only; `zynqflow-driver` includes this same file (`#[path]`) for its own
//! targets, so both crates run them the same way.
//!
//! - `cargo test`: each target runs proptest's default number of cases
//!   (256, or `PROPTEST_CASES`) from a seed fixed per target, so a run is
//!   reproducible and takes a few seconds at most.
//! - `ZYNQFLOW_FUZZ_SECONDS=N` (`make fuzz`): each target runs for N seconds,
//!   batch after batch of `PROPTEST_CASES` (default 4096) cases, each batch
//!   from a fresh seed, then prints how many cases it ran.
//! - `ZYNQFLOW_FUZZ_SEED=S` replays the batch of seed `S` (a failure prints
//!   its target, its seed and the smallest failing input proptest found).

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::fmt::Debug;
use std::time::{Duration, Instant};

/// The environment variable giving each target's time budget in seconds.
pub const SECONDS_VAR: &str = "ZYNQFLOW_FUZZ_SECONDS";
/// The environment variable replaying one seed.
pub const SEED_VAR: &str = "ZYNQFLOW_FUZZ_SEED";

fn env_u64(var: &str) -> Option<u64> {
    let v = std::env::var(var).ok()?;
    Some(v.trim().parse().unwrap_or_else(|_| panic!("{var}={v} is not a non-negative integer")))
}

/// FNV-1a of the target name: each target's fixed seed.
fn name_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x1000_0000_01b3))
}

/// Runs `cases` cases of `test` on values of `strategy` from `seed`; panics
/// with the target, the seed and the minimal failing input on a failure.
fn batch<S: Strategy>(
    name: &str,
    strategy: &S,
    test: &impl Fn(S::Value) -> Result<(), TestCaseError>,
    seed: u64,
    cases: u32,
) where
    S::Value: Debug,
{
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
    match runner.run(strategy, test) {
        Ok(()) => {}
        Err(TestError::Fail(why, input)) => {
            panic!("fuzz target {name} failed ({SEED_VAR}={seed} replays it): {why}\nminimal input: {input:?}")
        }
        Err(TestError::Abort(why)) => panic!("fuzz target {name} aborted ({SEED_VAR}={seed}): {why}"),
    }
}

/// Runs the fuzz target `name`: `test` on values of `strategy`, for the
/// default number of cases, or for `ZYNQFLOW_FUZZ_SECONDS` seconds.
pub fn fuzz<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: Debug,
{
    if let Some(seed) = env_u64(SEED_VAR) {
        return batch(name, &strategy, &test, seed, Config::default().cases);
    }
    let Some(secs) = env_u64(SECONDS_VAR) else {
        return batch(name, &strategy, &test, name_seed(name), Config::default().cases);
    };
    let cases = std::env::var("PROPTEST_CASES").map_or(4096, |_| Config::default().cases);
    let start = Instant::now();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut seed = name_seed(name) ^ now ^ u64::from(std::process::id());
    let (mut batches, mut total) = (0u64, 0u64);
    while batches == 0 || start.elapsed() < Duration::from_secs(secs) {
        batch(name, &strategy, &test, seed, cases);
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        batches += 1;
        total += u64::from(cases);
    }
    println!("fuzz {name}: {total} cases in {batches} batches of fresh seeds, {:.0} s", start.elapsed().as_secs_f64());
}

/// `bytes` after `edits`: each `(at, op, byte)` overwrites (op 0), inserts
/// (op 1) or deletes (op 2) at `at` modulo the length; then truncated to
/// `cut` bytes if given. The mutations the targets apply to valid files.
pub fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)], cut: Option<usize>) -> Vec<u8> {
    for &(at, op, byte) in edits {
        let n = bytes.len();
        match op % 3 {
            0 if n > 0 => bytes[at % n] = byte,
            1 => bytes.insert(at % (n + 1), byte),
            2 if n > 0 => {
                bytes.remove(at % n);
            }
            _ => {}
        }
    }
    if let Some(c) = cut {
        bytes.truncate(c % (bytes.len() + 1));
    }
    bytes
}

#[allow(dead_code)] // used by zynqflow-driver's targets, which include this file
/// The edits [`mutate`] takes: up to `n` of them, bytes biased towards the
/// values that matter to parsers (0, 0xff, digits, quotes, brackets).
pub fn edits(n: usize) -> impl Strategy<Value = (Vec<(usize, u8, u8)>, Option<usize>)> {
    use proptest::prelude::*;
    let byte =
        prop_oneof![any::<u8>(), Just(0u8), Just(0xff), prop::sample::select(b"0123456789,:'\"(){}[] -.\n".to_vec())];
    (prop::collection::vec((any::<usize>(), 0u8..3, byte), 0..=n), prop::option::weighted(0.2, any::<usize>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutate_overwrites_inserts_deletes_and_cuts() {
        let v = b"abcd".to_vec();
        assert_eq!(mutate(v.clone(), &[(5, 0, b'X')], None), b"aXcd");
        assert_eq!(mutate(v.clone(), &[(4, 1, b'X')], None), b"abcdX");
        assert_eq!(mutate(v.clone(), &[(0, 2, 0)], Some(2)), b"bc");
        assert_eq!(mutate(vec![], &[(3, 0, 1), (3, 2, 1)], Some(9)), b"");
    }

    #[test]
    fn a_failing_target_names_itself_and_its_seed() {
        let r = std::panic::catch_unwind(|| {
            batch(
                "always_fails",
                &proptest::num::u8::ANY,
                &|v| if v < 200 { Ok(()) } else { Err(TestCaseError::fail("too big")) },
                7,
                2000,
            )
        });
        let msg = *r.unwrap_err().downcast::<String>().unwrap();
        assert!(msg.starts_with("fuzz target always_fails failed (ZYNQFLOW_FUZZ_SEED=7 replays it): too big"), "{msg}");
        assert!(msg.ends_with("minimal input: 200"), "shrunk to the smallest failing value: {msg}");
    }
}
