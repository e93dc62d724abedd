//! Runnable examples of the trustpub libraries live in `examples/`: this crate has no code of its own.
