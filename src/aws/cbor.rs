//! A small CBOR (RFC 8949) value, encoder and decoder: what the eventsv2 calls the SDK cannot
//! express need. `aws-sdk-eventbridgev2` 1.7 (the newest) was generated before AWS added webhook
//! event sources: its `EventSourceConfiguration` has no `WebhookEventsConfiguration`, its
//! responses drop `EventSourceDetails` (the webhook URL and secret ARN), and it has no
//! `RotateWebhookCredentials`. Those requests are sent through the SDK's own client (signing,
//! retries, rate limits, call counts, the write fence) with a body encoded here, and their
//! answers are read from the raw response body decoded here (see `aws::eventsv2`).
//! Pure: no I/O.

/// One CBOR data item.
#[derive(Clone, PartialEq)]
pub enum Cbor {
    Uint(u64),
    /// A negative integer, as its value.
    Neg(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Bool(bool),
    Null,
    Float(f64),
    Tag(u64, Box<Cbor>),
}

/// Never prints text values: a request body may carry a webhook secret.
impl std::fmt::Debug for Cbor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cbor::Uint(n) => write!(f, "{n}"),
            Cbor::Neg(n) => write!(f, "{n}"),
            Cbor::Bytes(b) => write!(f, "bytes({})", b.len()),
            Cbor::Text(t) => write!(f, "text({})", t.len()),
            Cbor::Array(items) => f.debug_list().entries(items).finish(),
            Cbor::Map(pairs) => f.debug_map().entries(pairs.iter().map(|(k, v)| (k, v))).finish(),
            Cbor::Bool(b) => write!(f, "{b}"),
            Cbor::Null => f.write_str("null"),
            Cbor::Float(x) => write!(f, "{x}"),
            Cbor::Tag(t, v) => write!(f, "tag({t}, {v:?})"),
        }
    }
}

impl Cbor {
    pub fn text(s: impl Into<String>) -> Cbor {
        Cbor::Text(s.into())
    }

    /// A map with text keys.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Cbor)>) -> Cbor {
        Cbor::Map(pairs.into_iter().map(|(k, v)| (Cbor::Text(k.into()), v)).collect())
    }

    /// The value of text key `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Cbor> {
        match self {
            Cbor::Map(pairs) => pairs.iter().find(|(k, _)| matches!(k, Cbor::Text(t) if t == key)).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Cbor::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Cbor::Uint(n) => i64::try_from(*n).ok(),
            Cbor::Neg(n) => i64::try_from(*n).ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Cbor::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> &[Cbor] {
        match self {
            Cbor::Array(items) => items,
            _ => &[],
        }
    }

    /// The text at a path of map keys.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        path.iter().try_fold(self, |v, k| v.get(k)).and_then(Cbor::as_str)
    }

    pub fn at(&self, path: &[&str]) -> Option<&Cbor> {
        path.iter().try_fold(self, |v, k| v.get(k))
    }

    /// The encoding (definite lengths, shortest heads).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Cbor::Uint(n) => head(out, 0, *n),
            Cbor::Neg(n) => head(out, 1, u64::try_from(-1 - *n).unwrap_or(u64::MAX)),
            Cbor::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Cbor::Text(t) => {
                head(out, 3, t.len() as u64);
                out.extend_from_slice(t.as_bytes());
            }
            Cbor::Array(items) => {
                head(out, 4, items.len() as u64);
                items.iter().for_each(|i| i.write(out));
            }
            Cbor::Map(pairs) => {
                head(out, 5, pairs.len() as u64);
                for (k, v) in pairs {
                    k.write(out);
                    v.write(out);
                }
            }
            Cbor::Tag(t, v) => {
                head(out, 6, *t);
                v.write(out);
            }
            Cbor::Bool(false) => out.push(0xf4),
            Cbor::Bool(true) => out.push(0xf5),
            Cbor::Null => out.push(0xf6),
            Cbor::Float(x) => {
                out.push(0xfb);
                out.extend_from_slice(&x.to_be_bytes());
            }
        }
    }

    /// Decode one data item that spans all of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Cbor, String> {
        let mut r = Reader { bytes, at: 0 };
        let v = r.item()?;
        if r.at != bytes.len() {
            return Err(format!("{} trailing bytes after the CBOR item", bytes.len() - r.at));
        }
        Ok(v)
    }
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= u64::from(u8::MAX) {
        out.extend_from_slice(&[m | 24, n as u8]);
    } else if n <= u64::from(u16::MAX) {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u64::from(u32::MAX) {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// The nesting depth refused (a hostile or broken answer must not overflow the stack).
const MAX_DEPTH: usize = 64;

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len()).ok_or("CBOR item cut short")?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    /// The argument of a head whose additional information is `info` (None: indefinite).
    fn argument(&mut self, info: u8) -> Result<Option<u64>, String> {
        Ok(Some(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes([self.byte()?, self.byte()?])),
            26 => {
                let b = self.take(4)?;
                u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            }
            27 => {
                let b = self.take(8)?;
                u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
            31 => return Ok(None),
            _ => return Err(format!("CBOR reserved additional information {info}")),
        }))
    }

    fn len(n: u64) -> Result<usize, String> {
        usize::try_from(n).map_err(|_| "CBOR length too large".to_string())
    }

    fn item(&mut self) -> Result<Cbor, String> {
        self.nested(0)
    }

    fn is_break(&self) -> bool {
        self.bytes.get(self.at) == Some(&0xff)
    }

    fn nested(&mut self, depth: usize) -> Result<Cbor, String> {
        if depth > MAX_DEPTH {
            return Err("CBOR nested too deep".into());
        }
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        if major == 7 {
            return match info {
                20 => Ok(Cbor::Bool(false)),
                21 => Ok(Cbor::Bool(true)),
                22 | 23 => Ok(Cbor::Null),
                25 => Ok(Cbor::Float(half(u16::from_be_bytes([self.byte()?, self.byte()?])))),
                26 => {
                    let b = self.take(4)?;
                    Ok(Cbor::Float(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]]))))
                }
                27 => {
                    let b = self.take(8)?;
                    Ok(Cbor::Float(f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])))
                }
                _ => Err(format!("CBOR simple value {info} not supported")),
            };
        }
        let arg = self.argument(info)?;
        match (major, arg) {
            (0, Some(n)) => Ok(Cbor::Uint(n)),
            (1, Some(n)) => Ok(Cbor::Neg(-1 - i128::from(n))),
            (2 | 3, Some(n)) => {
                let n = Self::len(n)?;
                let raw = self.take(n)?.to_vec();
                string(major, raw)
            }
            (2 | 3, None) => {
                let mut raw = Vec::new();
                while !self.is_break() {
                    match self.nested(depth + 1)? {
                        Cbor::Bytes(b) if major == 2 => raw.extend(b),
                        Cbor::Text(t) if major == 3 => raw.extend(t.into_bytes()),
                        _ => return Err("CBOR indefinite string with a chunk of another type".into()),
                    }
                }
                self.at += 1;
                string(major, raw)
            }
            (4, n) => {
                let mut items = Vec::new();
                match n {
                    Some(n) => {
                        for _ in 0..n {
                            items.push(self.nested(depth + 1)?);
                        }
                    }
                    None => {
                        while !self.is_break() {
                            items.push(self.nested(depth + 1)?);
                        }
                        self.at += 1;
                    }
                }
                Ok(Cbor::Array(items))
            }
            (5, n) => {
                let mut pairs = Vec::new();
                match n {
                    Some(n) => {
                        for _ in 0..n {
                            pairs.push((self.nested(depth + 1)?, self.nested(depth + 1)?));
                        }
                    }
                    None => {
                        while !self.is_break() {
                            pairs.push((self.nested(depth + 1)?, self.nested(depth + 1)?));
                        }
                        self.at += 1;
                    }
                }
                Ok(Cbor::Map(pairs))
            }
            (6, Some(t)) => Ok(Cbor::Tag(t, Box::new(self.nested(depth + 1)?))),
            _ => Err(format!("CBOR major type {major} with an indefinite length")),
        }
    }
}

fn string(major: u8, raw: Vec<u8>) -> Result<Cbor, String> {
    if major == 2 {
        Ok(Cbor::Bytes(raw))
    } else {
        String::from_utf8(raw).map(Cbor::Text).map_err(|_| "CBOR text that is not UTF-8".to_string())
    }
}

/// IEEE 754 half precision to f64 (RFC 8949 appendix D).
fn half(bits: u16) -> f64 {
    let exp = (bits >> 10) & 0x1f;
    let mant = f64::from(bits & 0x3ff);
    let value = match exp {
        0 => mant * 2f64.powi(-24),
        31 => {
            if mant == 0.0 {
                f64::INFINITY
            } else {
                f64::NAN
            }
        }
        e => (mant + 1024.0) * 2f64.powi(i32::from(e) - 25),
    };
    if bits & 0x8000 != 0 { -value } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_indefinite_items() {
        let v = Cbor::map([
            ("Name", Cbor::text("whb-1")),
            ("Tags", Cbor::map([("a", Cbor::text("b"))])),
            ("N", Cbor::Uint(300)),
            ("M", Cbor::Neg(-5)),
            ("L", Cbor::Array(vec![Cbor::Bool(true), Cbor::Null, Cbor::Float(1.5)])),
        ]);
        assert_eq!(Cbor::decode(&v.encode()).expect("decodes"), v);
        // {_ "a": [_ 1], "b": (_ "x" "y")} as a smithy server may send it, then a half float.
        let indefinite = [0xbf, 0x61, b'a', 0x9f, 0x01, 0xff, 0x61, b'b', 0x7f, 0x61, b'x', 0x61, b'y', 0xff, 0xff];
        let d = Cbor::decode(&indefinite).expect("decodes");
        assert_eq!(d.get("a"), Some(&Cbor::Array(vec![Cbor::Uint(1)])));
        assert_eq!(d.str_at(&["b"]), Some("xy"));
        assert_eq!(Cbor::decode(&[0xf9, 0x3e, 0x00]).expect("half"), Cbor::Float(1.5));
        assert!(Cbor::decode(&[0x62, b'a']).is_err(), "cut short");
        assert!(Cbor::decode(&[0x9f; 100]).is_err(), "too deep");
    }

    #[test]
    fn debug_never_prints_text() {
        let v = Cbor::map([("SecretValue", Cbor::text("hunter2-hunter2-hunter2"))]);
        assert!(!format!("{v:?}").contains("hunter2"));
    }
}
