//! Unix-specific functionality: a mirror of [`std::os::unix`], for the parts
//! that block: [`net`] (Unix domain sockets) and [`process`] (`CommandExt`
//! for green's `Command`).

pub mod net;
pub mod process;
