//! The AS's extractors of raw request parts. axum's own answer a failure with a plain-text
//! body; these answer with an OAuth JSON error (`invalid_request`, `Cache-Control: no-store`),
//! keeping axum's status (400, or 413 for a body over the limit).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

use super::error_response;
use super::limits::refusal;
use crate::core::ProtocolError;

/// A request body, read whole within the size limit.
#[derive(Debug)]
pub(super) struct RawBody(pub(super) Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(RawBody(bytes)),
            Err(rejection) => {
                let status = rejection.status();
                let description = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "the request body is larger than the server accepts"
                } else {
                    "the request body could not be read"
                };
                Err(error_response(refusal(status, description), true))
            }
        }
    }
}

/// The one parameter of a route such as `/policy/{id}`, percent-decoded.
#[derive(Debug)]
pub(super) struct PathId(pub(super) String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(PathId(id)),
            // A route without its parameter: a bug here, not the client's doing.
            Err(rejection) if rejection.status().is_server_error() => {
                Err(error_response(ProtocolError::server_error(), true))
            }
            Err(rejection) => Err(error_response(
                refusal(
                    rejection.status(),
                    "the path does not name a resource: it is not valid percent-encoded UTF-8",
                ),
                true,
            )),
        }
    }
}

/// The query parameters, percent-decoded, in order.
#[derive(Debug)]
pub(super) struct QueryPairs(pub(super) Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Query(pairs)) => Ok(QueryPairs(pairs)),
            Err(rejection) => Err(error_response(
                refusal(rejection.status(), "the query string is not valid form encoding"),
                true,
            )),
        }
    }
}
