//! Wire shapes, one file per platform. A dialect never imports another.

pub mod apivideo;
pub mod brightcove;
pub mod brightcove_jobs;
pub mod edgecast;
pub mod livepeer;
pub mod sg;
