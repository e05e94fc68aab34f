//! `--format`: the common part of Go's `text/template`, the language
//! Docker's `inspect -f`, `ps --format` and `images --format` take, over a
//! JSON value.
//!
//! ```text
//! {{.State.Status}}                       a field, nested fields
//! {{json .Config}}  {{.Config | json}}    a function, or a pipe into one
//! {{range .Mounts}}{{.Source}} {{end}}    a loop (a map: its values by key)
//! {{range $k, $v := .Ports}}{{$k}} {{end}} a loop with variables
//! {{index .NetworkSettings.Networks "br0"}}
//! {{(index .NetworkSettings.Ports "80/tcp" 0).HostPort}}   a sub-pipeline's field
//! {{if .State.Running}}up{{else}}down{{end}}
//! {{- .Id -}}                             trims the spaces beside it
//! ```
//!
//! Values print as Go's `%v` prints what `encoding/json` decoded: a string
//! as it is, a map as `map[k:v]`, a list as `[a b]`, a null as `<nil>`, and
//! a key the value does not have as `<no value>` (Docker falls back to the
//! raw JSON for such keys too).

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Pipeline),
    Range {
        vars: Vec<String>,
        over: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    If {
        cond: Pipeline,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// Commands joined by `|`: each one's result is the last argument of the
/// next.
type Pipeline = Vec<Vec<Arg>>;

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// `.A.B` (no names: `.` itself).
    Field(Vec<String>),
    /// `$v.A` (`$` alone: the whole value).
    Var(String, Vec<String>),
    Str(String),
    Int(i64),
    Bool(bool),
    Func(String),
    /// `(PIPELINE).A.B`.
    Sub(Pipeline, Vec<String>),
}

impl Template {
    /// Parses `text`; an error names what is wrong, as Go's parser would.
    pub fn parse(text: &str) -> Result<Template> {
        let pieces = split(text)?;
        let mut pieces = pieces.into_iter().peekable();
        let (nodes, end) = parse_nodes(&mut pieces)?;
        match end {
            None => Ok(Template { nodes }),
            Some(word) => bail!("template: unexpected {{{{{word}}}}}"),
        }
    }

    /// The text of the template for `data`.
    pub fn render(&self, data: &Value) -> Result<String> {
        let mut out = String::new();
        let mut vars = vec![("$".to_string(), data.clone())];
        run(&self.nodes, Some(data), &mut vars, &mut out)?;
        Ok(out)
    }
}

/// A `--format` for a listing (`ps`, `images`): a template printed once
/// per row, or with `table` first, under a header and in aligned columns.
/// `\t` and `\n` typed in the format are a tab and a newline, as in Docker.
#[derive(Debug, Clone)]
pub struct Rows {
    template: Template,
    table: bool,
}

impl Rows {
    /// Parses `table TEMPLATE` or `TEMPLATE`.
    pub fn parse(format: &str) -> Result<Rows> {
        let (table, text) = match format.strip_prefix("table") {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => (true, rest),
            _ => (false, format),
        };
        let text = text
            .trim_matches(' ')
            .replace("\\t", "\t")
            .replace("\\n", "\n");
        Ok(Rows {
            template: Template::parse(&text)?,
            table,
        })
    }

    /// The lines for `rows`; `header` holds each field's column title.
    pub fn render(&self, header: &Value, rows: &[Value]) -> Result<String> {
        let mut lines = Vec::new();
        if self.table {
            lines.push(self.template.render(header)?);
        }
        for row in rows {
            lines.push(self.template.render(row)?);
        }
        let mut text = lines.join("\n");
        if !lines.is_empty() {
            text.push('\n');
        }
        Ok(match self.table {
            true => columns(&text),
            false => text,
        })
    }
}

/// Aligns tab-separated cells as Docker's tab writer does: each column as
/// wide as its widest cell plus three spaces, ten at least; the last cell
/// of a line is not padded.
pub fn columns(text: &str) -> String {
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max((cell.chars().count() + 3).max(10));
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            match i + 1 == row.len() {
                true => out.push_str(cell),
                false => out.push_str(&format!("{cell:<w$}", w = widths[i])),
            }
        }
        out.push('\n');
    }
    out
}

/// Text or the inside of one `{{...}}`.
#[derive(Debug)]
enum Piece {
    Text(String),
    Action(String),
}

/// Cuts the template into text and actions, applying `{{-` and `-}}`.
fn split(text: &str) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut before = &rest[..start];
        if trim_next {
            before = before.trim_start();
        }
        let mut inner = &rest[start + 2..];
        if let Some(stripped) = inner.strip_prefix("- ") {
            before = before.trim_end();
            inner = stripped;
        }
        let end = closing(inner).ok_or_else(|| anyhow!("template: unclosed action"))?;
        let mut action = &inner[..end];
        trim_next = false;
        if let Some(stripped) = action.strip_suffix(" -") {
            action = stripped;
            trim_next = true;
        }
        if !before.is_empty() {
            pieces.push(Piece::Text(before.to_string()));
        }
        pieces.push(Piece::Action(action.trim().to_string()));
        rest = &inner[end + 2..];
    }
    let tail = if trim_next { rest.trim_start() } else { rest };
    if !tail.is_empty() {
        pieces.push(Piece::Text(tail.to_string()));
    }
    Ok(pieces)
}

/// Where the `}}` of an action is, skipping quoted strings.
fn closing(inner: &str) -> Option<usize> {
    let bytes = inner.as_bytes();
    let mut i = 0;
    let mut quoted = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'}' if !quoted && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

type Pieces = std::iter::Peekable<std::vec::IntoIter<Piece>>;

/// Nodes up to an `{{else}}` or `{{end}}` (returned) or the end of text.
fn parse_nodes(pieces: &mut Pieces) -> Result<(Vec<Node>, Option<String>)> {
    let mut nodes = Vec::new();
    while let Some(piece) = pieces.next() {
        let action = match piece {
            Piece::Text(text) => {
                nodes.push(Node::Text(text));
                continue;
            }
            Piece::Action(action) => action,
        };
        let words = tokens(&action)?;
        match words.first().map(String::as_str) {
            Some("end") | Some("else") => return Ok((nodes, Some(words[0].clone()))),
            Some("range") => {
                let (vars, over) = range_header(&words[1..])?;
                let (body, otherwise) = parse_block(pieces, "range")?;
                nodes.push(Node::Range {
                    vars,
                    over,
                    body,
                    otherwise,
                });
            }
            Some("if") => {
                let cond = pipeline(&words[1..])?;
                let (then, otherwise) = parse_block(pieces, "if")?;
                nodes.push(Node::If {
                    cond,
                    then,
                    otherwise,
                });
            }
            Some("/*") => {}
            _ => nodes.push(Node::Action(pipeline(&words)?)),
        }
    }
    Ok((nodes, None))
}

/// The body of a `range` or `if`, and its `else` part.
fn parse_block(pieces: &mut Pieces, what: &str) -> Result<(Vec<Node>, Vec<Node>)> {
    let (body, end) = parse_nodes(pieces)?;
    match end.as_deref() {
        Some("end") => Ok((body, Vec::new())),
        Some("else") => match parse_nodes(pieces)? {
            (otherwise, Some(end)) if end == "end" => Ok((body, otherwise)),
            _ => bail!("template: {what} has no {{{{end}}}}"),
        },
        _ => bail!("template: {what} has no {{{{end}}}}"),
    }
}

/// `$k, $v := PIPELINE`, `$v := PIPELINE` or `PIPELINE`.
fn range_header(words: &[String]) -> Result<(Vec<String>, Pipeline)> {
    if let Some(at) = words.iter().position(|w| w == ":=") {
        let vars: Vec<String> = words[..at]
            .iter()
            .map(|w| w.trim_end_matches(',').to_string())
            .filter(|w| !w.is_empty())
            .collect();
        if vars.is_empty() || vars.len() > 2 || vars.iter().any(|v| !v.starts_with('$')) {
            bail!("template: bad range variables");
        }
        return Ok((vars, pipeline(&words[at + 1..])?));
    }
    Ok((Vec::new(), pipeline(words)?))
}

/// Words of an action: quoted strings stay whole (with their quotes).
fn tokens(action: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = action.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            let mut word = String::from(chars.next().unwrap_or('"'));
            let mut closed = false;
            while let Some(c) = chars.next() {
                word.push(c);
                if c == '\\' {
                    word.extend(chars.next());
                } else if c == '"' {
                    closed = true;
                    break;
                }
            }
            if !closed {
                bail!("template: unterminated quoted string");
            }
            words.push(word);
        } else if c == '|' || c == '(' {
            words.push(chars.next().map(String::from).unwrap_or_default());
        } else {
            // A `)` keeps the fields that follow it: `(index .M "k").Field`.
            let mut word = String::new();
            if c == ')' {
                word.push(c);
                chars.next();
            }
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '|' || c == '(' || c == ')' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            words.push(word);
        }
    }
    Ok(words)
}

fn pipeline(words: &[String]) -> Result<Pipeline> {
    let mut at = 0;
    nested(words, &mut at, false)
}

/// A pipeline from `words[*at]`, up to the `)` that ends it if `inner`.
fn nested(words: &[String], at: &mut usize, inner: bool) -> Result<Pipeline> {
    let mut pipe = Vec::new();
    let mut command = Vec::new();
    while let Some(word) = words.get(*at) {
        if word.starts_with(')') {
            if !inner {
                bail!("template: unexpected right paren");
            }
            break;
        }
        *at += 1;
        match word.as_str() {
            "|" => {
                if command.is_empty() {
                    bail!("template: missing command in pipeline");
                }
                pipe.push(std::mem::take(&mut command));
            }
            "(" => {
                let sub = nested(words, at, true)?;
                let close = words
                    .get(*at)
                    .ok_or_else(|| anyhow!("template: unclosed left paren"))?;
                *at += 1;
                command.push(Arg::Sub(sub, fields(&close[1..])));
            }
            word => command.push(arg(word)?),
        }
    }
    if inner && words.get(*at).is_none() {
        bail!("template: unclosed left paren");
    }
    if command.is_empty() {
        match pipe.is_empty() {
            true => bail!("template: missing value for command"),
            false => bail!("template: missing command in pipeline"),
        }
    }
    pipe.push(command);
    Ok(pipe)
}

/// `.A.B` as its names.
fn fields(path: &str) -> Vec<String> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn arg(word: &str) -> Result<Arg> {
    Ok(if let Some(path) = word.strip_prefix('.') {
        Arg::Field(fields(path))
    } else if word.starts_with('$') {
        let (name, path) = word.split_once('.').unwrap_or((word, ""));
        Arg::Var(name.to_string(), fields(path))
    } else if word.starts_with('"') {
        Arg::Str(
            serde_json::from_str(word).map_err(|e| anyhow!("template: bad string {word}: {e}"))?,
        )
    } else if let Ok(n) = word.parse() {
        Arg::Int(n)
    } else if word == "true" || word == "false" {
        Arg::Bool(word == "true")
    } else if FUNCTIONS.contains(&word) {
        Arg::Func(word.to_string())
    } else {
        bail!("template: function {word:?} not defined")
    })
}

/// The functions Docker's templates offer that are implemented here.
const FUNCTIONS: &[&str] = &[
    "json", "index", "len", "join", "upper", "lower", "title", "split", "print", "println",
    "printf", "eq", "ne", "not", "and", "or", "truncate", "pad",
];

type Vars = Vec<(String, Value)>;

fn run(nodes: &[Node], dot: Option<&Value>, vars: &mut Vars, out: &mut String) -> Result<()> {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Action(pipe) => out.push_str(&show(eval(pipe, dot, vars)?.as_ref())),
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                let branch = match truthy(eval(cond, dot, vars)?.as_ref()) {
                    true => then,
                    false => otherwise,
                };
                run(branch, dot, vars, out)?;
            }
            Node::Range {
                vars: names,
                over,
                body,
                otherwise,
            } => {
                let items: Vec<(Value, Value)> = match eval(over, dot, vars)? {
                    Some(Value::Array(items)) => items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (Value::from(i), v))
                        .collect(),
                    // serde_json's map is sorted by key, as Go ranges maps.
                    Some(Value::Object(map)) => map
                        .into_iter()
                        .map(|(k, v)| (Value::String(k), v))
                        .collect(),
                    None | Some(Value::Null) => Vec::new(),
                    Some(other) => {
                        bail!("template: range can't iterate over {}", show(Some(&other)))
                    }
                };
                if items.is_empty() {
                    run(otherwise, dot, vars, out)?;
                }
                for (key, value) in items {
                    let depth = vars.len();
                    match names.as_slice() {
                        [v] => vars.push((v.clone(), value.clone())),
                        [k, v] => {
                            vars.push((k.clone(), key));
                            vars.push((v.clone(), value.clone()));
                        }
                        _ => {}
                    }
                    let result = run(body, Some(&value), vars, out);
                    vars.truncate(depth);
                    result?;
                }
            }
        }
    }
    Ok(())
}

/// A pipeline's value: `None` for a key the data does not have.
fn eval(pipe: &Pipeline, dot: Option<&Value>, vars: &Vars) -> Result<Option<Value>> {
    let mut piped: Option<Option<Value>> = None;
    for command in pipe {
        let result = match &command[0] {
            Arg::Func(name) => {
                let mut args = Vec::new();
                for a in &command[1..] {
                    args.push(value(a, dot, vars)?);
                }
                args.extend(piped.take());
                call(name, args)?
            }
            single if command.len() == 1 && piped.is_none() => value(single, dot, vars)?,
            _ => bail!(
                "template: can't give argument to non-function {:?}",
                command[0]
            ),
        };
        piped = Some(result);
    }
    Ok(piped.flatten())
}

fn value(arg: &Arg, dot: Option<&Value>, vars: &Vars) -> Result<Option<Value>> {
    Ok(match arg {
        Arg::Field(path) => walk(dot.cloned(), path),
        Arg::Var(name, path) => {
            let found = vars.iter().rev().find(|(n, _)| n == name);
            let (_, v) = found.ok_or_else(|| anyhow!("template: undefined variable {name:?}"))?;
            walk(Some(v.clone()), path)
        }
        Arg::Str(s) => Some(Value::String(s.clone())),
        Arg::Int(n) => Some(Value::from(*n)),
        Arg::Bool(b) => Some(Value::Bool(*b)),
        Arg::Func(name) => call(name, Vec::new())?,
        Arg::Sub(pipe, path) => walk(eval(pipe, dot, vars)?, path),
    })
}

fn walk(mut value: Option<Value>, path: &[String]) -> Option<Value> {
    for key in path {
        value = match value {
            Some(Value::Object(mut map)) => map.remove(key),
            _ => None,
        };
    }
    value
}

fn call(name: &str, args: Vec<Option<Value>>) -> Result<Option<Value>> {
    let text = |i: usize| show(args.get(i).and_then(Option::as_ref));
    let need = |n: usize| match args.len() >= n {
        true => Ok(()),
        false => Err(anyhow!(
            "template: wrong number of args for {name}: want {n} got {}",
            args.len()
        )),
    };
    let s = |t: String| Ok(Some(Value::String(t)));
    match name {
        "json" => {
            need(1)?;
            s(serde_json::to_string(
                &args[0].clone().unwrap_or(Value::Null),
            )?)
        }
        "index" => {
            need(2)?;
            let mut v = args[0].clone();
            for key in &args[1..] {
                v = match (v, key) {
                    (Some(Value::Object(mut m)), Some(Value::String(k))) => m.remove(k),
                    (Some(Value::Array(a)), Some(Value::Number(n))) => {
                        let i = n.as_u64().unwrap_or(u64::MAX);
                        Some(a.get(i as usize).cloned().ok_or_else(|| {
                            anyhow!("template: error calling index: index out of range: {i}")
                        })?)
                    }
                    (None | Some(Value::Null), _) => None,
                    _ => bail!(
                        "template: error calling index: cannot index with {}",
                        show(key.as_ref())
                    ),
                };
            }
            Ok(v)
        }
        "len" => {
            need(1)?;
            let n = match &args[0] {
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(m)) => m.len(),
                Some(Value::String(s)) => s.len(),
                other => bail!(
                    "template: error calling len: len of {}",
                    show(other.as_ref())
                ),
            };
            Ok(Some(Value::from(n)))
        }
        "join" => {
            need(2)?;
            let items = match &args[0] {
                Some(Value::Array(a)) => a.iter().map(|v| show(Some(v))).collect::<Vec<_>>(),
                other => vec![show(other.as_ref())],
            };
            s(items.join(&text(1)))
        }
        "split" => {
            need(2)?;
            let parts = text(0).split(&text(1)).map(Value::from).collect();
            Ok(Some(Value::Array(parts)))
        }
        "upper" => s(text(0).to_uppercase()),
        "lower" => s(text(0).to_lowercase()),
        "title" => s(text(0)
            .split(' ')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            })
            .collect::<Vec<String>>()
            .join(" ")),
        "truncate" => {
            need(2)?;
            let n = args[1].as_ref().and_then(Value::as_u64).unwrap_or(0) as usize;
            s(text(0).chars().take(n).collect())
        }
        "pad" => {
            need(3)?;
            let n = |i: usize| args[i].as_ref().and_then(Value::as_u64).unwrap_or(0) as usize;
            s(format!(
                "{}{}{}",
                " ".repeat(n(1)),
                text(0),
                " ".repeat(n(2))
            ))
        }
        "print" => s((0..args.len()).map(text).collect::<Vec<_>>().concat()),
        "println" => s((0..args.len()).map(text).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => {
            need(1)?;
            let mut rest = (1..args.len()).map(text);
            let format = text(0);
            let mut result = String::new();
            let mut chars = format.chars();
            while let Some(c) = chars.next() {
                match (c, c == '%') {
                    (_, true) => match chars.next() {
                        Some('%') => result.push('%'),
                        Some(_) => result.push_str(&rest.next().unwrap_or_default()),
                        None => result.push('%'),
                    },
                    (c, false) => result.push(c),
                }
            }
            s(result)
        }
        "eq" | "ne" => {
            need(2)?;
            let equal = args[1..].iter().any(|a| a == &args[0]);
            Ok(Some(Value::Bool(equal == (name == "eq"))))
        }
        "not" => {
            need(1)?;
            Ok(Some(Value::Bool(!truthy(args[0].as_ref()))))
        }
        "and" | "or" => {
            need(1)?;
            let want = name == "or";
            let pick = args.iter().find(|a| truthy(a.as_ref()) == want);
            Ok(pick.or(args.last()).cloned().flatten())
        }
        other => bail!("template: function {other:?} not defined"),
    }
}

/// Go's idea of true: not false, zero, null, empty or missing.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

/// A value as Go's `%v` prints it.
fn show(value: Option<&Value>) -> String {
    match value {
        None => "<no value>".to_string(),
        Some(Value::Null) => "<nil>".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(items)) => {
            let items: Vec<String> = items.iter().map(|v| show(Some(v))).collect();
            format!("[{}]", items.join(" "))
        }
        Some(Value::Object(map)) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", show(Some(v))))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(template: &str, data: &Value) -> String {
        Template::parse(template)
            .and_then(|t| t.render(data))
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    fn container() -> Value {
        json!({
            "Name": "/web",
            "State": {"Status": "running", "Running": true, "ExitCode": 0, "Pid": 42},
            "Config": {"Env": ["A=1", "B=2"], "Cmd": ["sleep", "60"], "Labels": {}},
            "Mounts": [{"Source": "/a", "Destination": "/x"}, {"Source": "/b", "Destination": "/y"}],
            "NetworkSettings": {
                "IPAddress": "10.0.0.2",
                "Networks": {"br0": {"IPAddress": "10.0.0.2", "Gateway": "10.0.0.1"}},
                "Ports": {"80/tcp": [{"HostIp": "", "HostPort": "8888"}]},
            },
            "Nothing": null,
        })
    }

    #[test]
    fn fields_and_text() {
        let c = container();
        assert_eq!(render("{{.State.Status}}", &c), "running");
        assert_eq!(
            render("{{.Name}} is {{.State.Status}} as {{.State.Pid}}", &c),
            "/web is running as 42"
        );
        assert_eq!(render("{{.NetworkSettings.IPAddress}}", &c), "10.0.0.2");
        assert_eq!(render("no actions", &c), "no actions");
        assert_eq!(render("{{ .State.Running }}", &c), "true");
    }

    #[test]
    fn values_print_as_go_prints_them() {
        let c = container();
        assert_eq!(render("{{.Config.Env}}", &c), "[A=1 B=2]");
        assert_eq!(
            render("{{.Mounts}}", &c),
            "[map[Destination:/x Source:/a] map[Destination:/y Source:/b]]"
        );
        assert_eq!(render("{{.Nothing}}", &c), "<nil>");
        assert_eq!(render("{{.Missing}}", &c), "<no value>");
        assert_eq!(render("{{.State.Missing.Deeper}}", &c), "<no value>");
        assert_eq!(render("{{.Config.Labels}}", &c), "map[]");
    }

    #[test]
    fn json_as_a_function_and_in_a_pipe() {
        let c = container();
        assert_eq!(render("{{json .Config.Cmd}}", &c), r#"["sleep","60"]"#);
        assert_eq!(render("{{.Config.Cmd | json}}", &c), r#"["sleep","60"]"#);
        assert_eq!(render("{{json .State.Status}}", &c), r#""running""#);
        assert_eq!(render("{{json .Missing}}", &c), "null");
    }

    #[test]
    fn range_over_lists_and_maps() {
        let c = container();
        assert_eq!(render("{{range .Mounts}}{{.Source}} {{end}}", &c), "/a /b ");
        assert_eq!(
            render("{{range .Config.Env}}[{{.}}]{{end}}", &c),
            "[A=1][B=2]"
        );
        assert_eq!(
            render(
                "{{range $p, $conf := .NetworkSettings.Ports}}{{$p}} -> {{(index $conf 0).HostPort}}{{end}}",
                &c
            ),
            "80/tcp -> 8888"
        );
        assert_eq!(
            render(
                "{{range $p, $conf := .NetworkSettings.Ports}}{{$p}}:{{json $conf}}{{end}}",
                &c
            ),
            r#"80/tcp:[{"HostIp":"","HostPort":"8888"}]"#
        );
        assert_eq!(
            render(
                "{{range $i, $m := .Mounts}}{{$i}}={{$m.Destination}} {{end}}",
                &c
            ),
            "0=/x 1=/y "
        );
        assert_eq!(
            render("{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}", &c),
            "10.0.0.1"
        );
        assert_eq!(
            render("{{range .Config.Labels}}x{{else}}none{{end}}", &c),
            "none"
        );
        assert_eq!(render("{{range .Mounts}}{{$.Name}}{{end}}", &c), "/web/web");
    }

    #[test]
    fn index_and_len() {
        let c = container();
        assert_eq!(
            render(r#"{{index .NetworkSettings.Networks "br0"}}"#, &c),
            "map[Gateway:10.0.0.1 IPAddress:10.0.0.2]"
        );
        assert_eq!(
            render(r#"{{(index .NetworkSettings.Networks "br0").Gateway}}"#, &c),
            "10.0.0.1"
        );
        assert_eq!(
            render(
                r#"{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}"#,
                &c
            ),
            "8888"
        );
        assert_eq!(render(r#"{{json (index .Config.Env 0)}}"#, &c), r#""A=1""#);
        assert_eq!(
            render(r#"{{(index .Config.Env 0"#, &c),
            "error: template: unclosed action"
        );
        assert_eq!(
            render(r#"{{(index .Config.Env 0}}"#, &c),
            "error: template: unclosed left paren"
        );
        assert_eq!(
            render(r#"{{index .Config.Env 0)}}"#, &c),
            "error: template: unexpected right paren"
        );
        assert_eq!(render(r#"{{index .Config.Env 1}}"#, &c), "B=2");
        assert_eq!(
            render(r#"{{index .NetworkSettings.Ports "80/tcp" 0 | json}}"#, &c),
            r#"{"HostIp":"","HostPort":"8888"}"#
        );
        assert_eq!(render("{{len .Mounts}}", &c), "2");
        assert_eq!(
            render("{{index .Config.Env 5}}", &c),
            "error: template: error calling index: index out of range: 5"
        );
    }

    #[test]
    fn if_else_and_comparisons() {
        let c = container();
        assert_eq!(
            render("{{if .State.Running}}up{{else}}down{{end}}", &c),
            "up"
        );
        assert_eq!(
            render("{{if .State.ExitCode}}failed{{else}}ok{{end}}", &c),
            "ok"
        );
        assert_eq!(
            render(r#"{{if eq .State.Status "running"}}yes{{end}}"#, &c),
            "yes"
        );
        assert_eq!(
            render(r#"{{if ne .State.Status "running"}}yes{{end}}"#, &c),
            ""
        );
        assert_eq!(
            render("{{if not .Config.Labels}}no labels{{end}}", &c),
            "no labels"
        );
    }

    #[test]
    fn string_functions() {
        let c = container();
        assert_eq!(render(r#"{{join .Config.Cmd " "}}"#, &c), "sleep 60");
        assert_eq!(render("{{upper .State.Status}}", &c), "RUNNING");
        assert_eq!(render("{{.State.Status | upper}}", &c), "RUNNING");
        assert_eq!(
            render(r#"{{printf "%s:%d" .Name .State.Pid}}"#, &c),
            "/web:42"
        );
        assert_eq!(render(r#"{{println .Name}}"#, &c), "/web\n");
        assert_eq!(render(r#"{{truncate .Name 2}}"#, &c), "/w");
        assert_eq!(render(r#"{{split "a:b" ":"}}"#, &c), "[a b]");
    }

    #[test]
    fn dashes_trim_the_spaces_beside_them() {
        let c = container();
        assert_eq!(render("a  {{- .Name -}}  b", &c), "a/webb");
        assert_eq!(
            render("{{range .Mounts -}}\n  {{.Source}}\n{{- end}}", &c),
            "/a/b"
        );
        assert_eq!(render("{{/* a comment */}}x", &c), "x");
        assert_eq!(render(r#"{{"}}"}}"#, &c), "}}");
    }

    #[test]
    fn bad_templates_are_errors() {
        let c = container();
        assert_eq!(render("{{.Name", &c), "error: template: unclosed action");
        assert_eq!(
            render("{{range .Mounts}}x", &c),
            "error: template: range has no {{end}}"
        );
        assert_eq!(render("{{end}}", &c), "error: template: unexpected {{end}}");
        assert_eq!(
            render("{{nosuch .Name}}", &c),
            "error: template: function \"nosuch\" not defined"
        );
        assert_eq!(
            render("{{}}", &c),
            "error: template: missing value for command"
        );
        assert!(render("{{.Name .State}}", &c).starts_with("error: template: can't give argument"));
        assert_eq!(
            render("{{$x}}", &c),
            "error: template: undefined variable \"$x\""
        );
    }

    #[test]
    fn tables_have_a_header_and_aligned_columns() {
        let header = json!({"ID": "CONTAINER ID", "Names": "NAMES", "Status": "STATUS"});
        let rows = [
            json!({"ID": "3f2a9c1d0b7e", "Names": "web", "Status": "Up 5 seconds"}),
            json!({"ID": "9b1e0c4f2a6d", "Names": "a", "Status": "Exited (0) 2 minutes ago"}),
        ];
        let table = Rows::parse(r"table {{.Names}}\t{{.ID}}\t{{.Status}}").unwrap();
        insta::assert_snapshot!(table.render(&header, &rows).unwrap(), @r"
        NAMES     CONTAINER ID   STATUS
        web       3f2a9c1d0b7e   Up 5 seconds
        a         9b1e0c4f2a6d   Exited (0) 2 minutes ago
        ");
        let plain = Rows::parse(r"{{.Names}}:{{.ID}}").unwrap();
        assert_eq!(
            plain.render(&header, &rows).unwrap(),
            "web:3f2a9c1d0b7e\na:9b1e0c4f2a6d\n"
        );
        assert_eq!(plain.render(&header, &[]).unwrap(), "");
        let only_header = Rows::parse("table {{.Names}}").unwrap();
        assert_eq!(only_header.render(&header, &[]).unwrap(), "NAMES\n");
    }
}
