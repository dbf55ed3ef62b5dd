//! `smoke`: the container runtime against real containers of the workload image.
//!
//! Every case starts a `server` (busybox httpd serving a token) and a `client` on a private
//! network of its own, does one thing to the server through the runtime (exec, kill, pause,
//! disconnect), and asserts the effect **from the client**, over the network, not from Docker's
//! own view. Each has a negative control that skips the action, which must make it fail.

mod cases;

pub use cases::cases;
