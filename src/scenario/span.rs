//! A small, lenient RON span indexer: maps value paths such as `devices[1].id`,
//! `links[0].b`, `workload.arrivals.period_ms` or `events[2].at_ms` to the 1-based
//! line and column where that value starts in the source text.
//!
//! serde throws positions away once a value is deserialised, so semantic errors use this
//! index to point at the offending value. It never fails: on text it cannot follow it
//! stops and keeps what it has indexed so far.

use std::collections::HashMap;

/// Positions (1-based line, column) of the values of a RON document, by path.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    entries: HashMap<String, (usize, usize)>,
}

impl SpanIndex {
    /// Indexes `src`.
    pub fn build(src: &str) -> SpanIndex {
        let mut p = Parser {
            chars: src.chars().collect(),
            i: 0,
            line: 1,
            col: 1,
            out: HashMap::new(),
            depth: 0,
        };
        p.skip_ws();
        // `#![enable(...)]` attributes before the value.
        while p.peek() == Some('#') {
            while let Some(c) = p.bump() {
                if c == ']' {
                    break;
                }
            }
            p.skip_ws();
        }
        let _ = p.value(String::new());
        SpanIndex { entries: p.out }
    }

    /// Position of the value at `path` exactly.
    pub fn exact(&self, path: &str) -> Option<(usize, usize)> {
        self.entries.get(path).copied()
    }

    /// Position of the value at `path`, or of its nearest indexed ancestor
    /// (`devices[1].sram_bytes` → `devices[1]` → `devices`), or 1:1.
    pub fn get(&self, path: &str) -> (usize, usize) {
        let mut p = path;
        loop {
            if let Some(&pos) = self.entries.get(p) {
                return pos;
            }
            match p.rfind(['.', '[']) {
                Some(cut) => p = &p[..cut],
                None => return self.entries.get("").copied().unwrap_or((1, 1)),
            }
        }
    }

    /// Number of indexed values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
    out: HashMap<String, (usize, usize)>,
    depth: usize,
}

/// Marker: the text could not be followed any further.
struct Stop;

const MAX_DEPTH: usize = 128;

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_ws(&mut self) {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                (Some('/'), Some('*')) => {
                    self.bump();
                    self.bump();
                    let mut nest = 1usize;
                    while nest > 0 {
                        match (self.peek(), self.peek_at(1)) {
                            (None, _) => return,
                            (Some('*'), Some('/')) => {
                                self.bump();
                                self.bump();
                                nest -= 1;
                            }
                            (Some('/'), Some('*')) => {
                                self.bump();
                                self.bump();
                                nest += 1;
                            }
                            _ => {
                                self.bump();
                            }
                        }
                    }
                }
                _ => return,
            }
        }
    }

    fn record(&mut self, path: &str, pos: (usize, usize)) {
        self.out.entry(path.to_string()).or_insert(pos);
    }

    fn ident(&mut self) -> Option<String> {
        let c = self.peek()?;
        if !(c.is_alphabetic() || c == '_') {
            return None;
        }
        if c == 'r'
            && self.peek_at(1) == Some('#')
            && self
                .peek_at(2)
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        {
            self.bump();
            self.bump();
        }
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || c == '_' {
                s.push(c);
                self.bump();
            } else {
                break;
            }
        }
        Some(s)
    }

    fn string(&mut self) -> Result<(), Stop> {
        // at '"'
        self.bump();
        loop {
            match self.bump() {
                None => return Err(Stop),
                Some('\\') => {
                    self.bump();
                }
                Some('"') => return Ok(()),
                Some(_) => {}
            }
        }
    }

    fn raw_string_start(&self) -> bool {
        let mut k = 1;
        while self.peek_at(k) == Some('#') {
            k += 1;
        }
        self.peek_at(k) == Some('"')
    }

    fn raw_string(&mut self) -> Result<(), Stop> {
        // at 'r', followed by #* and '"'
        self.bump();
        let mut hashes = 0;
        while self.peek() == Some('#') {
            self.bump();
            hashes += 1;
        }
        if self.bump() != Some('"') {
            return Err(Stop);
        }
        loop {
            match self.bump() {
                None => return Err(Stop),
                Some('"') => {
                    let mut k = 0;
                    while k < hashes && self.peek() == Some('#') {
                        self.bump();
                        k += 1;
                    }
                    if k == hashes {
                        return Ok(());
                    }
                }
                Some(_) => {}
            }
        }
    }

    fn value(&mut self, path: String) -> Result<(), Stop> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Stop);
        }
        let r = self.value_inner(path);
        self.depth -= 1;
        r
    }

    fn value_inner(&mut self, path: String) -> Result<(), Stop> {
        self.skip_ws();
        let pos = (self.line, self.col);
        self.record(&path, pos);
        match self.peek() {
            None => Err(Stop),
            Some('"') => self.string(),
            Some('b') if self.peek_at(1) == Some('"') => {
                self.bump();
                self.string()
            }
            Some('r') if self.raw_string_start() => self.raw_string(),
            Some('\'') => {
                self.bump();
                loop {
                    match self.bump() {
                        None => return Err(Stop),
                        Some('\\') => {
                            self.bump();
                        }
                        Some('\'') => return Ok(()),
                        Some(_) => {}
                    }
                }
            }
            Some('[') => {
                self.bump();
                let mut k = 0;
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(Stop),
                        Some(']') => {
                            self.bump();
                            return Ok(());
                        }
                        _ => {}
                    }
                    self.value(format!("{path}[{k}]"))?;
                    k += 1;
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => {
                            self.bump();
                        }
                        Some(']') => {}
                        _ => return Err(Stop),
                    }
                }
            }
            Some('{') => {
                self.bump();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(Stop),
                        Some('}') => {
                            self.bump();
                            return Ok(());
                        }
                        _ => {}
                    }
                    let key_start = self.i;
                    self.value(format!("{path}{{}}"))?;
                    let key: String = self.chars[key_start..self.i]
                        .iter()
                        .collect::<String>()
                        .trim()
                        .trim_matches('"')
                        .to_string();
                    self.skip_ws();
                    if self.bump() != Some(':') {
                        return Err(Stop);
                    }
                    self.value(join(&path, &key))?;
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => {
                            self.bump();
                        }
                        Some('}') => {}
                        _ => return Err(Stop),
                    }
                }
            }
            Some('(') => self.fields(&path),
            Some(c) if c.is_alphabetic() || c == '_' => {
                self.ident();
                self.skip_ws();
                if self.peek() == Some('(') {
                    self.fields(&path)
                } else {
                    Ok(())
                }
            }
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+') {
                        self.bump();
                    } else {
                        break;
                    }
                }
                Ok(())
            }
            Some(_) => Err(Stop),
        }
    }

    /// `( ... )`: named fields `name: value` or positional values.
    fn fields(&mut self, path: &str) -> Result<(), Stop> {
        self.bump(); // '('
        let mut k = 0;
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(Stop),
                Some(')') => {
                    self.bump();
                    return Ok(());
                }
                _ => {}
            }
            // Named field? ident followed by ':' (not '::').
            let save = (self.i, self.line, self.col);
            let mut named = false;
            if let Some(name) = self.ident() {
                self.skip_ws();
                if self.peek() == Some(':') && self.peek_at(1) != Some(':') {
                    self.bump();
                    self.value(join(path, &name))?;
                    named = true;
                }
            }
            if !named {
                (self.i, self.line, self.col) = save;
                self.value(join(path, &k.to_string()))?;
            }
            k += 1;
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(')') => {}
                _ => return Err(Stop),
            }
        }
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_nested_paths() {
        let src = "Scenario(\n  name: \"x\", // comment\n  devices: [\n    (id: \"a\", profile: \"p\"),\n    (id: \"b\", /* c */ profile: \"q\"),\n  ],\n  workload: (arrivals: Periodic(period_ms: 5.0), requests: 3),\n)";
        let ix = SpanIndex::build(src);
        assert_eq!(ix.exact("name"), Some((2, 9)));
        assert_eq!(ix.exact("devices[0].id"), Some((4, 10)));
        assert_eq!(ix.exact("devices[1].profile"), Some((5, 32)));
        assert_eq!(ix.exact("workload.arrivals.period_ms"), Some((7, 44)));
        assert_eq!(ix.get("devices[1].sram_bytes"), (5, 5));
        assert_eq!(ix.get("nothing.here"), (1, 1));
    }

    #[test]
    fn survives_garbage() {
        for s in [
            "",
            "(",
            "[[[[",
            "Scenario(a: \"",
            "r#\"",
            "/* ",
            "((((((((",
            "{1: 2, 3",
        ] {
            let _ = SpanIndex::build(s);
        }
        let deep = "[".repeat(100_000);
        let _ = SpanIndex::build(&deep);
    }
}
