//! The plain-text format of the generator's vocabulary (`names.txt`, `countries.txt`), so that
//! names and places are data files, listed compactly, rather than Rust statics of the same shape
//! over and over: blocks that open with a `[label]` line, then `key: value` lines; `#` comments.
//! The files are part of the build (`include_str!`) and read once, on first use.

use std::str::FromStr;

/// One `[label]` block and its `key: value` lines, in order.
#[derive(Debug)]
pub(crate) struct Block {
    pub label: &'static str,
    fields: Vec<(&'static str, &'static str)>,
}

/// Every block of `text`.
pub(crate) fn blocks(text: &'static str) -> Result<Vec<Block>, String> {
    let mut blocks: Vec<Block> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(label) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            blocks.push(Block {
                label,
                fields: Vec::new(),
            });
            continue;
        }
        match (blocks.last_mut(), line.split_once(':')) {
            (Some(block), Some((key, value))) => block.fields.push((key.trim(), value.trim())),
            _ => {
                return Err(format!(
                    "line {}: expected `[label]` or `key: value`",
                    index + 1
                ))
            }
        }
    }
    Ok(blocks)
}

impl Block {
    /// The value of `key`, given exactly once.
    pub fn one(&self, key: &str) -> Result<&'static str, String> {
        let mut values = self.values(key);
        match (values.next(), values.next()) {
            (Some(value), None) => Ok(value),
            _ => Err(format!("[{}]: `{key}` must be given once", self.label)),
        }
    }

    /// The value of `key` parsed as a `T`.
    pub fn parse<T: FromStr>(&self, key: &str) -> Result<T, String> {
        self.one(key)?
            .parse()
            .map_err(|_| format!("[{}]: `{key}` is not a valid value", self.label))
    }

    /// The items of every `key` line, in order: items are separated by `;`. At least one.
    pub fn list(&self, key: &str) -> Result<Vec<&'static str>, String> {
        let items: Vec<_> = self
            .values(key)
            .flat_map(|value| value.split(';'))
            .map(str::trim)
            .collect();
        if items.is_empty() || items.contains(&"") {
            return Err(format!("[{}]: `{key}` needs items, none empty", self.label));
        }
        Ok(items)
    }

    /// [`Block::list`] of `left = right` pairs.
    pub fn pairs(&self, key: &str) -> Result<Vec<(&'static str, &'static str)>, String> {
        self.list(key)?
            .into_iter()
            .map(|item| match item.split_once('=') {
                Some((left, right)) if !left.trim().is_empty() && !right.trim().is_empty() => {
                    Ok((left.trim(), right.trim()))
                }
                _ => Err(format!(
                    "[{}]: `{key}` item `{item}` is no `a = b`",
                    self.label
                )),
            })
            .collect()
    }

    fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'static str> + 'a {
        self.fields
            .iter()
            .filter(move |(name, _)| *name == key)
            .map(|(_, value)| *value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_lists_and_pairs() {
        let text = "# comment\n[a]\nn: 3\nxs: p = q; r = s\nxs: t = u\n\n[b]\nn: x\n";
        let blocks = blocks(text).expect("blocks");
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].parse::<u32>("n"), Ok(3));
        assert_eq!(
            blocks[0].pairs("xs"),
            Ok(vec![("p", "q"), ("r", "s"), ("t", "u")])
        );
        assert!(blocks[1].parse::<u32>("n").is_err());
        assert!(blocks[1].list("xs").is_err());
        assert!(super::blocks("n: 3\n").is_err(), "a field outside a block");
    }
}
