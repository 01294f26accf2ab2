//! "Rule is too complex": the limit `PutRule` puts on wildcards.
//!
//! EventBridge builds its matcher with Event Ruler (`aws/event-ruler`) and refuses a pattern whose
//! wildcard automaton is too nondeterministic, with `InvalidEventPatternException` "Event pattern
//! is not valid. Reason: Rule is too complex - try using fewer wildcard characters or fewer
//! repeating character sequences after a wildcard character" (recorded by LocalStack,
//! tests/aws/services/events/test_events_patterns.snapshot.json, case
//! `content_wildcard_complex_EXC`).
//!
//! The measure is Event Ruler's `MachineComplexityEvaluator` (src/main/software/amazon/event/
//! ruler/MachineComplexityEvaluator.java): over every input, the most wildcard rule prefixes a
//! value can be in at once, per field (fields do not add up: the maximum over fields). Each
//! `wildcard` (and `anything-but` `wildcard`) value is a byte automaton: a chain of literal bytes
//! with a self-loop where each `*` is. Reading one byte, the count is the transitions taken (a
//! loop on each live state that has one, a literal edge where the byte matches) plus, for each
//! edge into a state with a loop that was not live, that loop too ("an input value that matches
//! foo will also match foo*"). This module computes that count by walking the subsets of states
//! reachable, as the evaluator walks its machine, capped at [`CAP`].
//!
//! AWS does not publish its threshold. Event Ruler's README ("Matching with a Machine") suggests
//! per-rule complexity 10 with at most 30 rules containing wildcards, and AWS's answers agree
//! with `> 10` refused: `*:*:*:*:*:event-bus/*` (complexity 11) is refused, while
//! `/Users/*/dir/dir/dir/dir/dir/doc.txt` (7) and `arn:aws:events:us-east-1:*:event-bus/*` (3)
//! are accepted (LocalStack's `content_wildcard_repeating` and `content_wildcard_simplified`).
//!
//! One simplification: wildcards on the same field in different `$or` branches are counted
//! together, as if in one array. Event Ruler may keep them apart (then each branch is measured
//! alone), so this can refuse a `$or` AWS accepts, never accept one it refuses.

use std::collections::{BTreeMap, HashSet, VecDeque};

use super::*;

/// The most complexity AWS accepts in one rule (see the module's documentation).
pub const MAX_COMPLEXITY: usize = 10;

/// Evaluation stops here, as Event Ruler's evaluator is capped (its tests use 100).
pub const CAP: usize = 100;

/// Subsets of states explored before giving up (and answering [`CAP`]): a pattern is at most
/// 4096 characters, so this is reached only by adversarial patterns.
const MAX_SUBSETS: usize = 20_000;

impl Pattern {
    /// Event Ruler's complexity of this pattern: 0 without wildcards.
    pub fn complexity(&self) -> usize {
        self.most_complex_field().map_or(0, |(_, c)| c)
    }

    /// The event field (dotted path) whose wildcards are the most complex, and their complexity;
    /// `None` without wildcards.
    pub fn most_complex_field(&self) -> Option<(String, usize)> {
        let mut fields: BTreeMap<&str, Vec<&Wildcard>> = BTreeMap::new();
        collect(&self.root, &mut fields);
        let mut most: Option<(String, usize)> = None;
        for (field, wildcards) in fields {
            let c = complexity_of(&wildcards);
            if most.as_ref().is_none_or(|(_, m)| c > *m) {
                most = Some((field.to_string(), c));
            }
        }
        most
    }

    /// Whether the pattern uses `wildcard` (or `anything-but` `wildcard`) anywhere.
    pub fn has_wildcard(&self) -> bool {
        let mut fields = BTreeMap::new();
        collect(&self.root, &mut fields);
        !fields.is_empty()
    }
}

fn collect<'p>(obj: &'p Obj, out: &mut BTreeMap<&'p str, Vec<&'p Wildcard>>) {
    for member in &obj.members {
        match member {
            Member::Field(Field { path, node: Node::Leaf(leaf), .. }) => {
                for matcher in &leaf.matchers {
                    match matcher {
                        Matcher::Wildcard(w) => out.entry(path.as_str()).or_default().push(w),
                        Matcher::AnythingBut(AnythingBut::Wildcard(ws)) => {
                            out.entry(path.as_str()).or_default().extend(ws.iter())
                        }
                        _ => {}
                    }
                }
            }
            Member::Field(Field { node: Node::Obj(inner), .. }) => collect(inner, out),
            Member::Or(branches) => branches.iter().for_each(|b| collect(b, out)),
        }
    }
}

/// The automata of one field's wildcards, side by side: state `s` has literal edges `edges[s]`
/// and a self-loop if `looped[s]`.
struct Automata {
    edges: Vec<Vec<(u8, usize)>>,
    looped: Vec<bool>,
    starts: Vec<usize>,
}

impl Automata {
    fn new(wildcards: &[&Wildcard]) -> Self {
        let mut a = Automata { edges: Vec::new(), looped: Vec::new(), starts: Vec::new() };
        for w in wildcards {
            let mut at = a.state();
            a.starts.push(at);
            let last = w.parts.len().saturating_sub(1);
            for (i, part) in w.parts.iter().enumerate() {
                for &byte in part.as_bytes() {
                    let next = a.state();
                    a.edges[at].push((byte, next));
                    at = next;
                }
                if i < last {
                    a.looped[at] = true;
                }
            }
        }
        a
    }

    fn state(&mut self) -> usize {
        self.edges.push(Vec::new());
        self.looped.push(false);
        self.edges.len() - 1
    }
}

/// Event Ruler's complexity of one field's wildcards (see the module's documentation).
pub(super) fn complexity_of(wildcards: &[&Wildcard]) -> usize {
    // The same value twice is one pattern in Event Ruler's machine.
    let mut unique: Vec<&Wildcard> = Vec::with_capacity(wildcards.len());
    for w in wildcards {
        if !unique.contains(w) {
            unique.push(w);
        }
    }
    let a = Automata::new(&unique);
    // The bytes any edge reads, and one byte none reads (if there is one): all other bytes
    // behave like it.
    let mut alphabet: Vec<u8> = a.edges.iter().flatten().map(|&(b, _)| b).collect();
    alphabet.sort_unstable();
    alphabet.dedup();
    if let Some(other) = (0..=u8::MAX).find(|b| alphabet.binary_search(b).is_err()) {
        alphabet.push(other);
    }
    let mut start = a.starts.clone();
    start.sort_unstable();
    let mut seen: HashSet<Vec<usize>> = HashSet::from([start.clone()]);
    let mut queue = VecDeque::from([start]);
    let mut most = 0;
    while let Some(live) = queue.pop_front() {
        for &byte in &alphabet {
            let mut size = 0;
            let mut next = Vec::new();
            for &s in &live {
                if a.looped[s] {
                    size += 1;
                    next.push(s);
                }
                for &(b, t) in &a.edges[s] {
                    if b == byte {
                        size += 1;
                        // A state with a loop entered afresh: its loop counts too.
                        if a.looped[t] && live.binary_search(&t).is_err() {
                            size += 1;
                        }
                        next.push(t);
                    }
                }
            }
            if next.is_empty() {
                continue;
            }
            most = most.max(size);
            if most >= CAP || seen.len() >= MAX_SUBSETS {
                return CAP;
            }
            next.sort_unstable();
            next.dedup();
            if seen.insert(next.clone()) {
                queue.push_back(next);
            }
        }
    }
    most
}
