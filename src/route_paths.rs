//! Route paths API Gateway refuses together, checked offline (pure): at one level under one
//! parent path, every route of an API must name its path variable alike. `/{a}` next to `/{b}`
//! (whatever the methods) is answered 409 ConflictException, and no retry changes that: "AWS API
//! Gateway doesn't allow you to use two variables with different names in the same path segment"
//! (https://github.com/JiscSD/octopus/pull/577, confirmed by a deploy); the error AWS sends, "The
//! provided route key ... has a conflicting variable on the same hierarchical level as ...
//! (Service: AmazonApiGatewayV2; Status Code: 409; Error Code: ConflictException)", is quoted in
//! https://github.com/KensioSoftware/yulin/pull/307. The same rule, for REST APIs: "A sibling
//! ({bizId}) of this resource already has a variable path part -- only one is allowed"
//! (https://github.com/amazon-archives/aws-apigateway-importer/issues/202).

use crate::error::FieldError;

/// The name of a `{name}` or greedy `{name+}` path segment.
fn variable(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}').map(|v| v.trim_end_matches('+'))
}

/// The first level where `a` and `b`, under the same parent, hold variables of different
/// names: (level, a's name, b's name).
fn conflict<'p>(a: &'p str, b: &'p str) -> Option<(usize, &'p str, &'p str)> {
    for (level, (x, y)) in a.split('/').zip(b.split('/')).enumerate() {
        if x == y {
            continue;
        }
        return match (variable(x), variable(y)) {
            (Some(vx), Some(vy)) if vx != vy => Some((level, vx, vy)),
            (Some(vx), Some(vy)) if vx == vy => continue,
            _ => None,
        };
    }
    None
}

/// One error per route whose path names a variable unlike an earlier route at the same level
/// (paths indexed as in `spec.routes`).
pub fn conflicting_variables<'p>(paths: impl IntoIterator<Item = &'p str>) -> Vec<FieldError> {
    let paths: Vec<&str> = paths.into_iter().collect();
    let mut errors = Vec::new();
    for (j, b) in paths.iter().enumerate() {
        if let Some((i, (level, va, vb))) =
            paths[..j].iter().enumerate().find_map(|(i, a)| conflict(a, b).map(|c| (i, c)))
        {
            errors.push(FieldError::new(
                format!("spec.routes[{j}].path"),
                format!(
                    "path variable {{{vb}}} at level {level} conflicts with {{{va}}} of spec.routes[{i}].path {:?}: API Gateway allows one variable name per level under the same parent (it answers 409 ConflictException); name it {{{va}}}",
                    paths[i]
                ),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_of_different_names_at_one_level_conflict() {
        let errors = conflicting_variables(["/orders/{id}", "/orders/{orderId}/items"]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "spec.routes[1].path");
        assert!(errors[0].message.contains("{orderId}") && errors[0].message.contains("name it {id}"), "{errors:?}");
        assert_eq!(conflicting_variables(["/{a}", "/{b}"]).len(), 1);
        assert_eq!(conflicting_variables(["/x/{a}", "/x/{proxy+}"]).len(), 1);
    }

    #[test]
    fn same_names_other_parents_and_literals_do_not() {
        for paths in [
            ["/orders/{id}", "/orders/{id}/items"],
            ["/orders/{id}", "/users/{userId}"],
            ["/orders/{id}", "/orders/latest"],
            ["/{proxy+}", "/{proxy}"],
            ["/api/webhook", "/api/webhook"],
        ] {
            assert!(conflicting_variables(paths).is_empty(), "{paths:?}");
        }
    }
}
