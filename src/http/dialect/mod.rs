//! Wire shapes, one file per platform. A dialect never imports another.

pub mod livepeer;
pub mod sg;
