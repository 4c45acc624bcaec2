//! Date windows. (Being written.)
