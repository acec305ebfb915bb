fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "small".into());
    let dir = std::env::args().nth(2).unwrap_or_else(|| "/tmp/v".into());
    let cfg = zynqflow_isa::ArrayConfig::by_name(&name).unwrap();
    let v = zynqflow_hdl::accelerator_verilog(&cfg).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let files = zynqflow_hdl::verilog_check::write_modules(&v, std::path::Path::new(&dir)).unwrap();
    println!("{} modules", files.len());
}
