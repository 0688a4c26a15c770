//! Typed protocol values.
//!
//! Every credential the AS hands out is a secret newtype: its `Debug` output is redacted and the
//! value is reachable only through `.secret()`, so a stray `{:?}` in a log line cannot leak it.

use serde::{Deserialize, Serialize};

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a raw value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The raw value. Call sites that need it say so explicitly.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// Consumes the wrapper and returns the raw value.
            pub fn into_secret(self) -> String {
                self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a raw identifier.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The identifier as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

secret_type!(
    /// A permission ticket (UMA Grant §1.3): single-use, unguessable, URL-safe.
    PermissionTicket
);
secret_type!(
    /// A requesting party token (UMA Grant §1.3).
    Rpt
);
secret_type!(
    /// A persisted claims token (UMA Grant §3.3.5).
    Pct
);
secret_type!(
    /// An OAuth access token other than an RPT (a PAT).
    AccessToken
);
secret_type!(
    /// An OAuth refresh token.
    RefreshToken
);
secret_type!(
    /// A client secret.
    ClientSecret
);
secret_type!(
    /// A pushed claim token (UMA Grant §3.3.1).
    ClaimToken
);
secret_type!(
    /// A PKCE code verifier (RFC 7636 §4.1).
    CodeVerifier
);
secret_type!(
    /// An OAuth authorization code.
    AuthorizationCode
);
secret_type!(
    /// A user's password from the configuration.
    Password
);

id_type!(
    /// An OAuth client identifier.
    ClientId
);
id_type!(
    /// A registered resource's `_id`.
    ResourceId
);
id_type!(
    /// A resource owner or end user known to the AS.
    OwnerId
);
