//! The reference UMA 2.0 client: a web-style client driven by a start URL. Being built.
