//! Complexity as Event Ruler computes it. Each expected value below was computed by Event Ruler
//! itself (github:aws/event-ruler at 337e8d99, `ByteMachine.addPattern(Patterns.wildcardMatch(p))`
//! for each pattern, then `evaluateComplexity(new MachineComplexityEvaluator(100))`), on random
//! wildcard sets and on AWS's recorded cases; AWS's answers for those are named in
//! [`aws_refuses_what_event_ruler_finds_too_complex`].

use serde_json::json;

use super::parse::parse_wildcard;
use super::*;

/// (Event Ruler's complexity, the wildcards of one field).
const EVENT_RULER: &[(usize, &[&str])] = &[
    (3, &["b*a", "b/", "a::"]),
    (1, &["ab"]),
    (2, &[":aab*abb", "a*/::aa"]),
    (3, &["aaaa", "b*bb"]),
    (3, &["a/aab", "a/aa", "*"]),
    (2, &["ba*ab", "a*b/:aa:"]),
    (4, &["*a", "baa/a/a", "aaaaba*"]),
    (5, &[":/*a*aa"]),
    (4, &["baa/*aabb", "*b"]),
    (2, &["a", "a//*", "a"]),
    (1, &["aba:ba:aa"]),
    (1, &["aaba"]),
    (4, &["a*a::aa", "*b:a"]),
    (1, &["b/ba"]),
    (3, &["ab", ":", "*b::aa"]),
    (5, &["aa*a/a//", "*aabb/"]),
    (1, &["a"]),
    (2, &["/:*/"]),
    (2, &["b:a*a/"]),
    (1, &["::ba:a/:b", "ab:b"]),
    (3, &["/aba", "*b"]),
    (1, &[":a"]),
    (4, &["b*a", "*bb"]),
    (4, &["aa:", ":a::*/*b/"]),
    (6, &["/a*:b", "*a:*aa"]),
    (7, &["bb*", "a*a*a*a/a"]),
    (5, &["*a/ab", "a//*b:*", "aab"]),
    (1, &["ab"]),
    (2, &["*baa"]),
    (1, &["aaba:"]),
    (4, &["a:::*/*aa"]),
    (4, &["*b/", ":a::*/:aa", "abaa"]),
    (4, &[":ab*/aa", "*ba/"]),
    (2, &[":ab/a*a"]),
    (3, &["baab:a", "/*a/a"]),
    (1, &["/aab:/a/a"]),
    (7, &["::*a*aaa", ":*"]),
    (2, &["aabaa", "/*"]),
    (3, &[":ba/*a/a", "a/ababbb"]),
    (5, &[":*aa*baa/"]),
    (4, &["aa*", "*:", "aa/a://"]),
    (2, &["b:", "bba:aa/*a"]),
    (4, &["b", "*aa", "baaa"]),
    (4, &["/*/:*b/"]),
    (1, &["abaaa///:"]),
    (1, &["a/b"]),
    (1, &["baa"]),
    (1, &[":aaaa", "/"]),
    (4, &["bbb*ab*a:"]),
    (3, &["b*::ba"]),
    (1, &["a"]),
    (2, &["b:b:/ba*:"]),
    (2, &["a:", "b", "*"]),
    (5, &["*a", "*a::ab"]),
    (1, &["*", "*"]),
    (1, &["/"]),
    (2, &["abb/a*/a"]),
    (2, &["ab", "::aa*:aa", "///"]),
    (1, &["///aaabaa"]),
    (3, &["*b::ab/a"]),
    (1, &["ba//"]),
    (2, &["aaaba/a/a", "aa", ":/baa:ab"]),
    (2, &["ab::*"]),
    (2, &["aa*:"]),
    (2, &["a:*/:a", "a"]),
    (2, &["//*/", ":"]),
    (4, &["aa/:a", "a*aa", "a:"]),
    (2, &["/", "ab*a/b"]),
    (3, &["*a:a"]),
    (4, &["/*a/a*:b:"]),
    (1, &["aa/::a"]),
    (2, &["a*a"]),
    (3, &["*aa"]),
    (1, &["a", "ba"]),
    (3, &["aa*:a:b/"]),
    (1, &["b"]),
    (3, &["::", ":/a*aa/"]),
    (3, &["/*aba/aaa", "aba*:baaa", "b:*/b"]),
    (3, &["aa*/:/"]),
    (2, &["ba*a", ":/aa"]),
    (14, &["*aaabaa", "a*ba", "a*aaaa*aaa"]),
    (12, &["*aabaaabaaaa", "*b*bbbaaaab*b*baa*"]),
    (14, &["a*baabbb*baab", "aab*b*ba*baa*aabaa"]),
    (20, &["*aa*bba*b*b*aaa", "aaaa*abb", "a*b", "aa*b*b*a*baaa"]),
    (9, &["aabaaaaabaaa*abbb", "aa*b*bbaaabb*aaaba"]),
    (2, &["abbababaaa*a"]),
    (13, &["baab*bab*bbaaaa*ab", "*a*baa*a*"]),
    (11, &["ba*b*aaaaaa*a*ba", "aaaa*aa"]),
    (4, &["ababb*aab*b"]),
    (15, &["a*aaaaa", "aab*aaaabaa*aa*bab"]),
    (15, &["aba*a*a*bbaa*aabaa", "aba*aa*baaa*bb", "abbabab*ba*bbaaa", "abbaab"]),
    (8, &["b*a*babaa*abaaba", "aba*ab*baa"]),
    (3, &["abaaab", "ab*abbabaaaa"]),
    (14, &["*a*b*baaba", "*baaaab", "aaa*baba*aab*abb", "baababaab*a*b"]),
    (6, &["aabaa*a*ab", "aaa*b*abaa*a"]),
    (2, &["aaaaba*baa"]),
    (10, &["ba*aaa*babaaa*b*a*", "aaaabbbaa*a*"]),
    (13, &["a*bb*b", "aaba*ab*a*b*aaaaa", "bababa*b*aa"]),
    (9, &["*bba*b*bababb*aaab"]),
    (19, &["a*bab*babaabaa", "*bab*a*aaa*", "ab*aaa*bbbbbb*ab*"]),
    (21, &["aaaa*a", "b*baaaaabababbaa*", "*a*bba*bbaaaba*", "*bbaaa*b*aa*b*a"]),
    (7, &["aaa*aaaaaa"]),
    (10, &["b*aaaba", "baaab*bba*aaa*b", "aa*b"]),
    (7, &["a*ba*ab*b*a"]),
    (5, &["aa*abaa*abba"]),
    (9, &["a*baa*aa", "a*a", "a*bb", "aabaa*"]),
    (7, &["*bb*aaaabab*"]),
    (6, &["*bb*aa*ab"]),
    (10, &["bb*a*a*a*", "*aab", "abbbbabbb", "aaaaa*b*b*ba"]),
    (8, &["abaabb*b", "a*aa*", "a*ba*", "abaaa*"]),
    (11, &["aaa*baabbbbbbba*a", "aaababa*", "aaa*aaa*a*b", "baaa"]),
    (3, &["aba*baaba", "bbaa"]),
    (15, &["aaab*babaaa", "*a*a*aaa*b*bb*abb*"]),
    (14, &["ba*", "aa*a*aa*b*aaaaa", "abaabbaaaa*baba", "*ba*"]),
    (7, &["a*a*aaa*"]),
    (15, &["baaaaaaba*bb*ba", "*b*baaa*ba*ba*ba"]),
    (4, &["b*ba*aa"]),
    (2, &["baa*a", "aaa"]),
    (5, &["baaabbabb*ab*ababb", "aa*a"]),
    (15, &["*abaab*ab*bb*", "abba*aaabbbbaa", "ab*bbaa*aa"]),
    (11, &["*:*:*:*:*:event-bus/*"]),
    (3, &["arn:aws:events:us-east-1:*:event-bus/*"]),
    (7, &["/Users/*/dir/dir/dir/dir/dir/doc.txt"]),
    (9, &["*:stack/SharedStack/*", "*:stack/AppStack/*", "*:stack/DataStack/*"]),
    (12, &["*:stack/SharedStack/*", "*:stack/AppStack/*", "*:stack/DataStack/*", "*:stack/MonitoringStack/*"]),
    (
        100,
        &[
            "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*",
        ],
    ),
];

#[test]
fn complexity_is_event_rulers() {
    let mut wrong = Vec::new();
    for (want, patterns) in EVENT_RULER {
        let wildcards: Vec<Wildcard> =
            patterns.iter().map(|p| parse_wildcard(p).unwrap_or_else(|e| panic!("{p}: {e}"))).collect();
        let refs: Vec<&Wildcard> = wildcards.iter().collect();
        let got = complexity::complexity_of(&refs);
        if got != *want {
            wrong.push(format!("{patterns:?}: Event Ruler {want}, ours {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn aws_refuses_what_event_ruler_finds_too_complex() {
    // LocalStack's AWS-validated TestEventPattern cases (github:localstack/localstack,
    // tests/aws/services/events/event_pattern_templates/*.json5 and
    // tests/aws/services/events/test_events_patterns.snapshot.json).
    let refused = json!({"EventBusArn": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}); // content_wildcard_complex_EXC
    let accepted = [
        json!({"FileName": [{"wildcard": "/Users/*/dir/dir/dir/dir/dir/doc.txt"}]}), // content_wildcard_repeating
        json!({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}), // content_wildcard_simplified
        json!({"FileName": [{"wildcard": "/Users/*/doc.txt"}]}),                     // content_wildcard_nonrepeating
    ];
    let p = parse(&refused).expect("parses");
    assert!(p.complexity() > complexity::MAX_COMPLEXITY, "{}", p.complexity());
    for a in accepted {
        let p = parse(&a).expect("parses");
        assert!(p.complexity() <= complexity::MAX_COMPLEXITY, "{a}: {}", p.complexity());
        assert!(p.has_wildcard());
    }
    // github:vals-ai/Valkyrie pull #278 (an AWS deploy log quoted): three `*:stack/NAME/*`
    // wildcards in one rule were accepted, four refused as "Rule is too complex".
    let stacks = |names: &[&str]| {
        let values: Vec<_> = names.iter().map(|n| json!({"wildcard": format!("*:stack/{n}/*")})).collect();
        parse(&json!({"detail": {"stack-id": values}})).expect("parses").complexity()
    };
    assert!(stacks(&["SharedStack", "AppStack", "DataStack"]) <= complexity::MAX_COMPLEXITY);
    assert!(stacks(&["SharedStack", "AppStack", "DataStack", "MonitoringStack"]) > complexity::MAX_COMPLEXITY);
}

#[test]
fn complexity_is_per_field_and_counts_anything_but_wildcards() {
    let p = |v| parse(&v).expect("parses");
    assert_eq!(p(json!({"source": ["x"], "detail": {"a": [{"prefix": "y"}]}})).complexity(), 0);
    assert!(!p(json!({"source": ["x"]})).has_wildcard());
    // Fields do not add up: the most complex one counts.
    let two = p(json!({"a": [{"wildcard": "*:*:*"}], "b": [{"wildcard": "*:*:*"}]}));
    assert_eq!(two.complexity(), p(json!({"a": [{"wildcard": "*:*:*"}]})).complexity());
    // anything-but wildcard is measured like wildcard (Event Ruler's MATCH_TYPES_WITH_COMPLEXITY).
    let but = p(json!({"a": [{"anything-but": {"wildcard": "*:*:*:*:*:event-bus/*"}}]}));
    assert_eq!(but.complexity(), 11);
    // Dotted and nested spellings are one field.
    let split = p(json!({"d": {"a.b": [{"wildcard": "*:*:*"}], "a": {"b": [{"wildcard": "*:*:*"}]}}}));
    assert_eq!(
        split.complexity(),
        p(json!({"d": {"a": {"b": [{"wildcard": "*:*:*"}, {"wildcard": "*:*:*"}]}}})).complexity()
    );
}
