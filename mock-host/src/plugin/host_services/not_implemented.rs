//! Methods the real host serves but the mock does not: `state.*` and
//! `entities.*`. The contract names them and their capabilities but not
//! their params, storage or answers, so rather than guess, they pass the
//! same gates as every method and then answer `-32004` with a sentence
//! saying so (mock-host/README.md, "Known differences").

use super::method::Method;
use crate::error::{rpc_code, Error};

pub(super) fn error(method: Method) -> Error {
    Error::Rpc {
        code: rpc_code::METHOD_NOT_IMPLEMENTED,
        message: format!(
            "Host method \"{}\" is not implemented by the mock host",
            method.as_str()
        ),
    }
}
