//! Text rendering of a report tree.

use crate::Report;
use serde_json::Value as Json;
use std::fmt::Write;

pub(crate) fn text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} (input: {})", r.kind.name(), r.encoding.name());
    node(&r.tree, 1, &mut out);
    out
}

fn scalar(v: &Json) -> Option<String> {
    Some(match v {
        Json::Null => "(absent)".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.clone(),
        Json::Array(a) if a.is_empty() => "[]".into(),
        Json::Array(a)
            if a.iter()
                .all(|x| matches!(x, Json::String(_) | Json::Number(_))) =>
        {
            a.iter()
                .map(|x| scalar(x).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        }
        Json::Object(o) if o.is_empty() => "{}".into(),
        // Byte strings: "N bytes: hex".
        Json::Object(o) if o.len() == 2 && o.contains_key("length") && o.contains_key("hex") => {
            format!("{} bytes: {}", o["length"], o["hex"].as_str().unwrap_or(""))
        }
        _ => return None,
    })
}

fn node(v: &Json, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match v {
        Json::Object(o) => {
            for (k, child) in o {
                match scalar(child) {
                    Some(s) => {
                        let _ = writeln!(out, "{pad}{k}: {s}");
                    }
                    None => {
                        let _ = writeln!(out, "{pad}{k}:");
                        node(child, depth + 1, out);
                    }
                }
            }
        }
        Json::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                match scalar(child) {
                    Some(s) => {
                        let _ = writeln!(out, "{pad}[{i}] {s}");
                    }
                    None => {
                        let _ = writeln!(out, "{pad}[{i}]");
                        node(child, depth + 1, out);
                    }
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", scalar(other).unwrap_or_default());
        }
    }
}
