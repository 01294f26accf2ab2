//! Hand-written schema fragments where the derived one cannot say what Kubernetes needs.

use schemars::{Schema, SchemaGenerator, json_schema};

/// A free-form JSON object (an EventBridge event pattern): kept verbatim by the apiserver.
pub fn json_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "minProperties": 1,
    })
}
