//! Frame and flow file I/O (being written).
