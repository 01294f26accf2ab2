//! EventBridge event patterns, offline: [`parse`] once (rejecting what `PutRule` rejects), then
//! [`Pattern::matches`] events, naming the first field that failed and why.
//!
//! Semantics follow the EventBridge user guide, whose pages are cited at each operator by name
//! (`eb-create-pattern-operators.html` and the like, under
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/>), and, where the guide is silent,
//! Event Ruler (`aws/event-ruler`), AWS's Java library for this pattern language: its README
//! ("JSON Array Matching", "The $or Primitive") and its rule compiler's checks.
//!
//! Why not a crate: quamina, a Go library for the same pattern language, has a Rust port on
//! crates.io, `quamina` (0.7.0, released 2026-08, maintained). It was evaluated and not used:
//! - its API answers only *which* patterns matched, never which field failed or why, and
//!   [`Outcome::Failed`] (what `simulate` shows users) needs exactly that;
//! - it lacks operators EventBridge has: `$or`, `prefix`/`suffix` with `equals-ignore-case`, and
//!   `anything-but` with `prefix`/`suffix`/`wildcard`/`equals-ignore-case`;
//! - it does not check what EventBridge rejects (numeric bounds out of order or outside ±5e9,
//!   `/32` CIDRs, reserved names inside `$or`), and adds six dependencies.
//!
//! Evaluation walks the parsed pattern against the `serde_json::Value` of the event, and
//! allocates nothing until a failure is reported. Dot-joined names (`"state.status"` in the event
//! or the pattern, the same field as `state` → `status`) are split once: the pattern's at parse,
//! the event's in [`Event::new`] (only if it has such a name), see `dotted`.
//!
//! Choices where the documentation is silent or ambiguous (each also pinned by a test):
//! - An object inside an event array is matched element-wise: a nested pattern matches an array
//!   if one element matches all of it (Event Ruler's "array-consistent" matching). One case
//!   differs from Event Ruler, which expands `$or` before matching: when fields inside and
//!   outside a `$or` reach into the same array, each side may be met by a different element.
//! - A field whose value is an object, or an array with no scalar in it (`[]`), is not a leaf:
//!   `exists: false` matches it, everything else (including `exists: true`) does not (the guide's
//!   "Exists matching only works on leaf nodes" example). `null` is a leaf value: `exists: true`
//!   matches it.
//! - `anything-but` matches any present value the excluded values/operators do not match,
//!   whatever its type (`{"anything-but": "a"}` matches `5`); never a missing field.
//! - Numbers compare at 6 decimals (scaled by 1e6 and rounded) within ±5e9; a number outside that
//!   range never matches `numeric`, and equals another only exactly.
//! - `cidr` mirrors Event Ruler: the range runs from the address as written to the end of its
//!   block, and `/32` (IPv4) and `/128` (IPv6) are rejected (match one address with a plain
//!   string, which also matches other spellings of the same address).
//! - Dot-joined names: where the event has both `a.b` and `a` → `b`, a leaf sees both values
//!   (as Event Ruler does); an object under one and an array under the other become one array,
//!   so fields from both must then come from one element (Event Ruler would not ask that).
//! - Nesting is limited to 10 levels, as `validate` does at admission; AWS documents no depth
//!   limit, only a pattern size (2048 characters, raisable to 4096), which is not checked here.

pub mod complexity;
mod dotted;
mod matching;
mod parse;

use std::net::IpAddr;

pub use dotted::Event;
pub use parse::parse;

/// A pattern that failed to parse: the JSON path inside the pattern and the rule it breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    /// e.g. `detail.amount[0].numeric`; empty for the pattern itself.
    pub path: String,
    pub message: String,
}

/// A parsed event pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    root: Obj,
}

/// Whether an event matched, and if not, the first field that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Matched,
    /// `field`: the event's field (e.g. `detail.status`); `reason`: why it did not match.
    Failed {
        field: String,
        reason: String,
    },
}

/// Levels of nested objects (and `$or` branches) allowed, as in `validate`'s admission check.
const MAX_DEPTH: usize = 10;

/// Numeric matching's range, eb-create-pattern-operators.html "Numeric matching": "values
/// between -5.0e9 and +5.0e9 inclusive, with 15 digits of precision, or six digits to the right
/// of the decimal point".
const NUMERIC_LIMIT: f64 = 5e9;

/// Names Event Ruler refuses as field names inside a `$or` branch (its operators, and names it
/// reserves), so a misplaced operator is an error rather than a field nobody has.
const RESERVED_IN_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

const OPERATORS: &str = "prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr";

/// The members of one pattern object, in the order written: fields (AND) and `$or` groups.
#[derive(Clone, Debug, PartialEq)]
struct Obj {
    members: Vec<Member>,
}

#[derive(Clone, Debug, PartialEq)]
enum Member {
    Field(Field),
    /// eb-create-pattern-operators.html "Complex example with $or matching": matches if any
    /// branch matches; each branch is a pattern object at the same level as the `$or` key (which
    /// adds no path segment).
    Or(Vec<Obj>),
}

#[derive(Clone, Debug, PartialEq)]
struct Field {
    key: String,
    /// The dotted path in the event, for failures.
    path: String,
    node: Node,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Obj(Obj),
    Leaf(Leaf),
}

/// A leaf: the OR of its match values.
#[derive(Clone, Debug, PartialEq)]
struct Leaf {
    matchers: Vec<Matcher>,
    /// `{"exists": false}` is among the matchers: a missing field (or a non-leaf) matches.
    absent_ok: bool,
    /// The array as written, rendered for failure messages.
    shown: String,
    /// A single operator's operand as written (`[">", 10]` for `[{"numeric": [">", 10]}]`; the
    /// `"x"` of `{"prefix": {"equals-ignore-case": "x"}}`), rendered; empty otherwise.
    operand: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Matcher {
    /// eb-event-patterns.html (values are matched exactly: strings, numbers, `true`/`false`) and
    /// eb-event-patterns-null-values.html (`null` matches a null value, `""` an empty string, and
    /// the two are not interchangeable).
    Exact(Literal),
    /// eb-create-pattern-operators.html "Prefix matching": string values only.
    Prefix(String),
    /// eb-create-pattern-operators.html "Prefix matching while ignoring case". Stored lowercased.
    PrefixIgnoreCase(String),
    /// eb-create-pattern-operators.html "Suffix matching".
    Suffix(String),
    /// eb-create-pattern-operators.html "Suffix matching while ignoring case". Stored lowercased.
    SuffixIgnoreCase(String),
    /// eb-create-pattern-operators.html "Equals-ignore-case matching". Stored lowercased.
    EqualsIgnoreCase(String),
    /// eb-create-pattern-operators.html "Matching using wildcards".
    Wildcard(Wildcard),
    /// eb-create-pattern-operators.html "Anything-but matching" (and its prefix, suffix,
    /// ignore-case and wildcard forms).
    AnythingBut(AnythingBut),
    /// eb-create-pattern-operators.html "Numeric matching".
    Numeric(Range),
    /// eb-create-pattern-operators.html "Exists matching".
    Exists(bool),
    /// eb-create-pattern-operators.html "IP address matching".
    Cidr(Cidr),
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    /// `ip`: the string is an IP address, so other spellings of it match too (Event Ruler turns
    /// such strings into one-address ranges).
    Str {
        s: String,
        ip: Option<IpAddr>,
    },
    Num(Num),
    Bool(bool),
    Null,
}

#[derive(Clone, Debug, PartialEq)]
struct Num {
    f: f64,
    /// Scaled by 1e6 and rounded, within ±5e9.
    q: Option<i64>,
    /// Exact, for integers (account numbers and the like exceed 5e9).
    int: Option<i128>,
}

#[derive(Clone, Debug, PartialEq)]
enum AnythingBut {
    Values(Vec<Literal>),
    Prefix(Vec<String>),
    Suffix(Vec<String>),
    /// Lowercased.
    EqualsIgnoreCase(Vec<String>),
    Wildcard(Vec<Wildcard>),
}

/// `numeric` bounds, scaled like [`Num::q`]; `true`: inclusive.
#[derive(Clone, Debug, PartialEq)]
struct Range {
    lower: Option<(i64, bool)>,
    upper: Option<(i64, bool)>,
}

/// `*`-separated literal parts (escapes resolved): `parts.len()` is the number of `*` plus one.
#[derive(Clone, Debug, PartialEq)]
struct Wildcard {
    parts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
struct Cidr {
    v6: bool,
    low: u128,
    high: u128,
}

#[cfg(test)]
mod complexity_tests;
#[cfg(test)]
mod dotted_tests;
#[cfg(test)]
mod rules_tests;
#[cfg(test)]
mod tests;
