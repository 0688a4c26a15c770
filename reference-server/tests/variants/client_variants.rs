//! Client variants.
