//! The pattern matcher against the examples AWS documents (each group cites its page and section),
//! Event Ruler's README where AWS is silent, the project's examples, and the parse errors AWS
//! gives for malformed patterns.

use serde_json::{Value, json};

use super::*;

/// The guide's pages, for the citations below.
const PATTERNS: &str = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html";
const NULLS: &str = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html";
const ARRAYS: &str = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html";
const OPERATORS: &str = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html";
const RULER: &str = "https://github.com/aws/event-ruler README";

/// `None`: matches; `Some(field)`: fails on that field.
struct Case {
    doc: &'static str,
    section: &'static str,
    pattern: Value,
    event: Value,
    fails_on: Option<&'static str>,
}

fn case(
    doc: &'static str,
    section: &'static str,
    pattern: Value,
    event: Value,
    fails_on: Option<&'static str>,
) -> Case {
    Case { doc, section, pattern, event, fails_on }
}

/// The EC2 state-change event the guide's "Event patterns" page matches against.
fn ec2_event(state: &str) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": {"instance-id": "i-1234567890abcdef0", "state": state}
    })
}

/// Event Ruler's README sample event ("Ruler by Example").
fn ruler_event() -> Value {
    json!({
        "version": "0",
        "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "012345679012",
        "time": "2017-10-02T16:24:49Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
        "detail": {
            "c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33",
            "instance-id": "i-000000aaaaaa00000", "state": "running"
        }
    })
}

fn detail(fields: Value) -> Value {
    json!({"source": "app", "detail": fields})
}

fn cases() -> Vec<Case> {
    let m = None;
    vec![
        // --- eb-event-patterns.html, "Event patterns" (example event and pattern; AND of keys, OR of values)
        case(
            PATTERNS,
            "example",
            json!({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["terminated"]}}),
            ec2_event("terminated"),
            m,
        ),
        case(
            PATTERNS,
            "example",
            json!({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["terminated"]}}),
            ec2_event("running"),
            Some("detail.state"),
        ),
        case(
            PATTERNS,
            "values are OR",
            json!({"detail": {"state": ["running", "terminated"]}}),
            ec2_event("running"),
            m,
        ),
        case(
            PATTERNS,
            "keys are AND, first failure in key order",
            json!({"detail": {"state": ["stopped"]}, "source": ["aws.s3"]}),
            ec2_event("running"),
            Some("detail.state"),
        ),
        case(
            PATTERNS,
            "keys are AND",
            json!({"source": ["aws.ec2"], "region": ["eu-west-1"]}),
            ec2_event("running"),
            Some("region"),
        ),
        case(
            PATTERNS,
            "a field the event lacks",
            json!({"detail": {"reason": ["x"]}}),
            ec2_event("running"),
            Some("detail.reason"),
        ),
        case(
            PATTERNS,
            "a missing parent",
            json!({"detail": {"meta": {"owner": ["x"]}}}),
            ec2_event("running"),
            Some("detail.meta.owner"),
        ),
        case(
            PATTERNS,
            "matching is case-sensitive",
            json!({"detail": {"state": ["Running"]}}),
            ec2_event("running"),
            Some("detail.state"),
        ),
        case(
            PATTERNS,
            "numbers compare as numbers",
            json!({"detail": {"count": [300]}}),
            detail(json!({"count": 300.0})),
            m,
        ),
        case(
            PATTERNS,
            "numbers compare as numbers",
            json!({"detail": {"count": [300]}}),
            detail(json!({"count": 3e2})),
            m,
        ),
        case(
            PATTERNS,
            "a string is not a number",
            json!({"detail": {"count": [300]}}),
            detail(json!({"count": "300"})),
            Some("detail.count"),
        ),
        case(
            PATTERNS,
            "large integers compare exactly",
            json!({"account": [123456789012u64]}),
            json!({"account": 123456789012u64}),
            m,
        ),
        case(
            PATTERNS,
            "large integers compare exactly",
            json!({"account": [123456789012u64]}),
            json!({"account": 123456789013u64}),
            Some("account"),
        ),
        case(PATTERNS, "true/false literals", json!({"detail": {"flag": [true]}}), detail(json!({"flag": true})), m),
        case(
            PATTERNS,
            "true/false literals",
            json!({"detail": {"flag": [true]}}),
            detail(json!({"flag": "true"})),
            Some("detail.flag"),
        ),
        case(
            PATTERNS,
            "a leaf never matches an object",
            json!({"detail": ["x"]}),
            detail(json!({"a": 1})),
            Some("detail"),
        ),
        // --- eb-event-patterns-null-values.html, "Matching events on null values and empty strings"
        case(
            NULLS,
            "empty string",
            json!({"detail": {"eventVersion": [""]}}),
            detail(json!({"eventVersion": "", "responseElements": null})),
            m,
        ),
        case(
            NULLS,
            "null value",
            json!({"detail": {"responseElements": [null]}}),
            detail(json!({"eventVersion": "", "responseElements": null})),
            m,
        ),
        case(
            NULLS,
            "null and \"\" are not interchangeable",
            json!({"detail": {"eventVersion": [null]}}),
            detail(json!({"eventVersion": ""})),
            Some("detail.eventVersion"),
        ),
        case(
            NULLS,
            "null and \"\" are not interchangeable",
            json!({"detail": {"responseElements": [""]}}),
            detail(json!({"responseElements": null})),
            Some("detail.responseElements"),
        ),
        case(
            NULLS,
            "null is a value, not a missing field",
            json!({"detail": {"responseElements": [null]}}),
            detail(json!({})),
            Some("detail.responseElements"),
        ),
        // --- eb-event-patterns-arrays.html, "Matching events on arrays": non-empty intersection
        case(
            ARRAYS,
            "example",
            json!({"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f", "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f", "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}),
            json!({"resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate", "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}),
            m,
        ),
        case(
            ARRAYS,
            "empty intersection",
            json!({"resources": ["arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}),
            json!({"resources": ["arn:a", "arn:b"]}),
            Some("resources"),
        ),
        case(ARRAYS, "nested arrays are flattened", json!({"tags": ["b"]}), json!({"tags": [["a"], ["b"]]}), m),
        case(
            ARRAYS,
            "operators apply to each element",
            json!({"tags": [{"prefix": "te"}]}),
            json!({"tags": ["prod", "team-a"]}),
            m,
        ),
        // --- Event Ruler README, "JSON Array Matching" (objects in arrays, array-consistent)
        case(
            RULER,
            "arrays of objects",
            json!({"employees": {"firstName": ["Anna"]}}),
            json!({"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}, {"firstName": "Peter", "lastName": "Jones"}]}),
            m,
        ),
        case(
            RULER,
            "fields from one element",
            json!({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}),
            json!({"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}]}),
            m,
        ),
        case(
            RULER,
            "not from different elements",
            json!({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}),
            json!({"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}, {"firstName": "Peter", "lastName": "Jones"}]}),
            Some("employees.firstName"),
        ),
        case(
            RULER,
            "multi-level arrays",
            json!({"employees": {"firstName": ["Peter"]}}),
            json!({"employees": [[{"firstName": "John"}, {"firstName": "Anna"}], [{"firstName": "Peter"}]]}),
            m,
        ),
        case(
            RULER,
            "objects in arrays, nested deeper",
            json!({"detail": {"items": {"sku": ["sku-3"], "qty": [{"numeric": [">", 1]}]}}}),
            detail(json!({"items": [{"sku": "sku-1", "qty": 1}, {"sku": "sku-3", "qty": 4}]})),
            m,
        ),
        // --- eb-create-pattern-operators.html, "Prefix matching" and "Prefix matching while ignoring case"
        case(
            OPERATORS,
            "prefix",
            json!({"time": [{"prefix": "2017-10-02"}]}),
            json!({"time": "2017-10-02T18:43:48Z"}),
            m,
        ),
        case(
            OPERATORS,
            "prefix",
            json!({"time": [{"prefix": "2017-10-02"}]}),
            json!({"time": "2017-10-03T18:43:48Z"}),
            Some("time"),
        ),
        case(
            OPERATORS,
            "prefix works on strings only",
            json!({"code": [{"prefix": "1"}]}),
            json!({"code": 123}),
            Some("code"),
        ),
        case(
            OPERATORS,
            "prefix (example: European regions)",
            json!({"source": ["aws.autoscaling"], "region": [{"prefix": "eu-"}]}),
            json!({"source": "aws.autoscaling", "region": "eu-west-1"}),
            m,
        ),
        case(
            OPERATORS,
            "prefix ignoring case",
            json!({"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}),
            json!({"service": "EventBridge"}),
            m,
        ),
        case(
            OPERATORS,
            "prefix ignoring case",
            json!({"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}),
            json!({"service": "Lambda"}),
            Some("service"),
        ),
        // --- "Suffix matching" and "Suffix matching while ignoring case"
        case(OPERATORS, "suffix", json!({"FileName": [{"suffix": ".png"}]}), json!({"FileName": "image.png"}), m),
        case(
            OPERATORS,
            "suffix is case-sensitive",
            json!({"FileName": [{"suffix": ".png"}]}),
            json!({"FileName": "image.PNG"}),
            Some("FileName"),
        ),
        case(
            OPERATORS,
            "suffix ignoring case",
            json!({"service": [{"suffix": {"equals-ignore-case": "tBridge"}}]}),
            json!({"service": "EVENTBRIDGE"}),
            m,
        ),
        // --- "Equals-ignore-case matching"
        case(
            OPERATORS,
            "equals-ignore-case",
            json!({"Name": [{"equals-ignore-case": "alice"}]}),
            json!({"Name": "ALICE"}),
            m,
        ),
        case(
            OPERATORS,
            "equals-ignore-case",
            json!({"Name": [{"equals-ignore-case": "alice"}]}),
            json!({"Name": "Alicia"}),
            Some("Name"),
        ),
        // --- "Matching using wildcards"
        case(
            OPERATORS,
            "wildcard",
            json!({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}),
            json!({"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"}),
            m,
        ),
        case(
            OPERATORS,
            "wildcard",
            json!({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}),
            json!({"EventBusArn": "arn:aws:events:eu-west-1:123456789012:event-bus/default"}),
            Some("EventBusArn"),
        ),
        case(
            OPERATORS,
            "wildcard (a .png in dir)",
            json!({"Filename": [{"wildcard": "dir/*.png"}]}),
            json!({"Filename": "dir/sub/image.png"}),
            m,
        ),
        case(
            OPERATORS,
            "wildcard (a .png in dir)",
            json!({"Filename": [{"wildcard": "dir/*.png"}]}),
            json!({"Filename": "other/image.png"}),
            Some("Filename"),
        ),
        case(OPERATORS, "wildcard, escaped *", json!({"s": [{"wildcard": "a\\*b"}]}), json!({"s": "a*b"}), m),
        case(OPERATORS, "wildcard, escaped *", json!({"s": [{"wildcard": "a\\*b"}]}), json!({"s": "axb"}), Some("s")),
        case(OPERATORS, "wildcard, * matches nothing", json!({"s": [{"wildcard": "ab*"}]}), json!({"s": "ab"}), m),
        case(
            OPERATORS,
            "wildcard, parts may not overlap",
            json!({"s": [{"wildcard": "ab*ba"}]}),
            json!({"s": "aba"}),
            Some("s"),
        ),
        // --- "Anything-but matching" (and its prefix, suffix, ignore-case, wildcard forms)
        case(
            OPERATORS,
            "anything-but string",
            json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
            detail(json!({"state": "running"})),
            m,
        ),
        case(
            OPERATORS,
            "anything-but string",
            json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
            detail(json!({"state": "initializing"})),
            Some("detail.state"),
        ),
        case(
            OPERATORS,
            "anything-but number",
            json!({"detail": {"x-limit": [{"anything-but": 123}]}}),
            detail(json!({"x-limit": 123.0})),
            Some("detail.x-limit"),
        ),
        case(
            OPERATORS,
            "anything-but number",
            json!({"detail": {"x-limit": [{"anything-but": 123}]}}),
            detail(json!({"x-limit": 124})),
            m,
        ),
        case(
            OPERATORS,
            "anything-but list of strings",
            json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}),
            detail(json!({"state": "overloaded"})),
            Some("detail.state"),
        ),
        case(
            OPERATORS,
            "anything-but list of numbers",
            json!({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}),
            detail(json!({"x-limit": 150})),
            m,
        ),
        case(
            OPERATORS,
            "anything-but prefix",
            json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}),
            detail(json!({"state": "initializing"})),
            Some("detail.state"),
        ),
        case(
            OPERATORS,
            "anything-but prefix (only your own events)",
            json!({"source": [{"anything-but": {"prefix": "aws."}}]}),
            json!({"source": "com.example.orders"}),
            m,
        ),
        case(
            OPERATORS,
            "anything-but suffix",
            json!({"FileName": [{"anything-but": {"suffix": ".png"}}]}),
            json!({"FileName": "notes.txt"}),
            m,
        ),
        case(
            OPERATORS,
            "anything-but ignoring case",
            json!({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}),
            json!({"state": "INITIALIZING"}),
            Some("state"),
        ),
        case(
            OPERATORS,
            "anything-but wildcard",
            json!({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}),
            json!({"FilePath": "/usr/lib/libc.so"}),
            Some("FilePath"),
        ),
        case(
            OPERATORS,
            "anything-but wildcard",
            json!({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}),
            json!({"FilePath": "/usr/bin/ls"}),
            m,
        ),
        case(
            OPERATORS,
            "anything-but needs the field",
            json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
            detail(json!({})),
            Some("detail.state"),
        ),
        case(
            OPERATORS,
            "anything-but on an array: one other element suffices",
            json!({"state": [{"anything-but": ["stopped"]}]}),
            json!({"state": ["stopped", "running"]}),
            m,
        ),
        // --- "Numeric matching"
        case(
            OPERATORS,
            "numeric range",
            json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}),
            detail(json!({"c-count": 5})),
            m,
        ),
        case(
            OPERATORS,
            "numeric range, open bottom",
            json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}),
            detail(json!({"c-count": 0})),
            Some("detail.c-count"),
        ),
        case(
            OPERATORS,
            "numeric <",
            json!({"detail": {"d-count": [{"numeric": ["<", 10]}]}}),
            detail(json!({"d-count": 9.999})),
            m,
        ),
        case(
            OPERATORS,
            "numeric =",
            json!({"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}),
            detail(json!({"x-limit": 301.8})),
            m,
        ),
        case(
            OPERATORS,
            "numeric, six decimals",
            json!({"n": [{"numeric": ["=", 1.5]}]}),
            json!({"n": 1.5000000001}),
            m,
        ),
        case(
            OPERATORS,
            "numeric works with JSON numbers only",
            json!({"n": [{"numeric": [">", 1]}]}),
            json!({"n": "5"}),
            Some("n"),
        ),
        case(
            OPERATORS,
            "numeric is limited to ±5e9",
            json!({"n": [{"numeric": [">", 1]}]}),
            json!({"n": 6e9}),
            Some("n"),
        ),
        // --- "IP address matching"
        case(
            OPERATORS,
            "cidr",
            json!({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}),
            detail(json!({"sourceIPAddress": "10.0.0.24"})),
            m,
        ),
        case(
            OPERATORS,
            "cidr",
            json!({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}),
            detail(json!({"sourceIPAddress": "10.0.1.1"})),
            Some("detail.sourceIPAddress"),
        ),
        case(OPERATORS, "cidr, IPv6", json!({"ip": [{"cidr": "2001:db8::/32"}]}), json!({"ip": "2001:db8:ffff::1"}), m),
        case(
            OPERATORS,
            "cidr, IPv6 range never holds IPv4",
            json!({"ip": [{"cidr": "::/0"}]}),
            json!({"ip": "10.0.0.1"}),
            Some("ip"),
        ),
        case(
            OPERATORS,
            "cidr, not an address",
            json!({"ip": [{"cidr": "10.0.0.0/8"}]}),
            json!({"ip": "localhost"}),
            Some("ip"),
        ),
        case(
            RULER,
            "a plain IP string matches other spellings",
            json!({"ip": ["2001:db8::1"]}),
            json!({"ip": "2001:DB8:0:0:0:0:0:1"}),
            m,
        ),
        // --- "Exists matching"
        case(
            OPERATORS,
            "exists false, field absent",
            json!({"detail": {"c-count": [{"exists": false}]}}),
            json!({"detail-type": "EC2 Instance State-change Notification", "detail": {"state": ["initializing", "running"]}}),
            m,
        ),
        case(
            OPERATORS,
            "exists false, c-count is not a leaf",
            json!({"detail": {"c-count": [{"exists": false}]}}),
            json!({"detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}}),
            m,
        ),
        case(
            OPERATORS,
            "exists false, field present",
            json!({"detail": {"c-count": [{"exists": false}]}}),
            detail(json!({"c-count": 3})),
            Some("detail.c-count"),
        ),
        case(
            OPERATORS,
            "exists true",
            json!({"detail": {"description": [{"exists": true}]}}),
            detail(json!({"description": "x"})),
            m,
        ),
        case(
            OPERATORS,
            "exists true, field absent",
            json!({"detail": {"description": [{"exists": true}]}}),
            detail(json!({})),
            Some("detail.description"),
        ),
        case(
            OPERATORS,
            "exists true, null is a value",
            json!({"detail": {"description": [{"exists": true}]}}),
            detail(json!({"description": null})),
            m,
        ),
        case(
            OPERATORS,
            "exists true, an object is not a leaf",
            json!({"detail": {"description": [{"exists": true}]}}),
            detail(json!({"description": {"text": "x"}})),
            Some("detail.description"),
        ),
        case(
            OPERATORS,
            "exists true, an empty array has no values",
            json!({"detail": {"tags": [{"exists": true}]}}),
            detail(json!({"tags": []})),
            Some("detail.tags"),
        ),
        case(
            OPERATORS,
            "exists false, an empty array has no values",
            json!({"detail": {"tags": [{"exists": false}]}}),
            detail(json!({"tags": []})),
            m,
        ),
        case(
            OPERATORS,
            "exists false with a value: either",
            json!({"detail": {"coupon": ["none", {"exists": false}]}}),
            detail(json!({"coupon": "none"})),
            m,
        ),
        // --- "Complex example with multiple matching" (with Event Ruler's README event)
        case(
            OPERATORS,
            "complex example",
            json!({"time": [{"prefix": "2017-10-02"}], "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}], "source-ip": [{"cidr": "10.0.0.0/8"}]}}),
            ruler_event(),
            m,
        ),
        case(
            OPERATORS,
            "complex example",
            json!({"time": [{"prefix": "2017-10-02"}], "detail": {"state": [{"anything-but": "running"}], "c-count": [{"numeric": [">", 0, "<=", 5]}]}}),
            ruler_event(),
            Some("detail.state"),
        ),
        // --- "Complex example with $or matching", and Event Ruler README "The $or Primitive"
        case(
            OPERATORS,
            "$or",
            json!({"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]}, {"x-limit": [{"numeric": ["=", 3.018e2]}]}]}),
            json!({"d-count": 3}),
            m,
        ),
        case(
            OPERATORS,
            "$or, none matches: the first alternative's field",
            json!({"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]}]}),
            json!({"c-count": 9, "d-count": 30}),
            Some("c-count"),
        ),
        case(
            RULER,
            "normal $or",
            json!({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]}),
            json!({"source": "aws.cloudwatch", "namespace": "AWS/ES"}),
            m,
        ),
        case(
            RULER,
            "normal $or",
            json!({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]}),
            json!({"source": "aws.cloudwatch", "namespace": "AWS/RDS"}),
            Some("metricName"),
        ),
        case(
            RULER,
            "parallel $or, nested in detail",
            json!({"$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}], "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["CloudWatch Alarm State Change"]}]}}),
            json!({"namespace": "AWS/EC2", "detail": {"detail-type": "CloudWatch Alarm State Change"}}),
            m,
        ),
        case(
            RULER,
            "parallel $or, nested in detail",
            json!({"$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}], "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["CloudWatch Alarm State Change"]}]}}),
            json!({"namespace": "AWS/EC2", "detail": {"source": "other"}}),
            Some("detail.source"),
        ),
        case(
            RULER,
            "nested $or and AND",
            json!({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"metricType": ["MetricType"], "namespace": ["AWS/EC2"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]}, {"scope": ["Service"]}]}),
            json!({"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 1000}),
            m,
        ),
        case(
            RULER,
            "nested $or and AND",
            json!({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"metricType": ["MetricType"], "namespace": ["AWS/EC2"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]}, {"scope": ["Service"]}]}),
            json!({"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 1001}),
            Some("metricName"),
        ),
        case(
            RULER,
            "$or inside array elements",
            json!({"items": {"$or": [{"sku": ["a"]}, {"qty": [2]}]}}),
            json!({"items": [{"sku": "b", "qty": 1}, {"sku": "c", "qty": 2}]}),
            m,
        ),
    ]
}

#[test]
fn documented_examples() {
    let cases = cases();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let pattern = parse(&c.pattern).unwrap_or_else(|e| panic!("case {i} ({} {}): {e:?}", c.doc, c.section));
        let got = pattern.matches(&c.event);
        let ok = match (&got, c.fails_on) {
            (Outcome::Matched, None) => true,
            (Outcome::Failed { field, .. }, Some(want)) => field == want,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "case {i} ({} \"{}\"): want {:?}, got {got:?}\n  pattern {}\n  event {}",
                c.doc, c.section, c.fails_on, c.pattern, c.event
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
