//! OS-specific functionality: a mirror of [`std::os`], for the parts that
//! block. Only [`unix::net`] and [`unix::process`] are green; everything else in `std::os` is
//! plain data and is used from std directly.

pub mod unix;
