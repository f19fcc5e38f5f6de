//! Test-case XML as a plain element tree: names, the `type` and `value` attributes, and
//! children — what the replay substitutes placeholders in and compares.

use quick_xml::events::Event;
use quick_xml::Reader;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub item_type: Option<String>,
    pub value: Option<String>,
    pub children: Vec<Node>,
}

impl Node {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Writes the element back as XML.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        if let Some(item_type) = &self.item_type {
            out.push_str(&format!(" type=\"{}\"", escape(item_type)));
        }
        if let Some(value) = &self.value {
            out.push_str(&format!(" value=\"{}\"", escape(value)));
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for child in &self.children {
            child.write(out);
        }
        out.push_str(&format!("</{}>", self.name));
    }
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// The top-level elements of a document (the children of a `<KMIP>` root).
pub fn parse(text: &str) -> Result<Vec<Node>, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut roots = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| format!("XML: {e}"))?;
        let (start, empty) = match &event {
            Event::Start(start) => (start, false),
            Event::Empty(start) => (start, true),
            Event::End(_) => {
                let node = stack.pop().ok_or("XML: unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => roots.push(node),
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        if stack.len() > 64 {
            return Err("XML: nested too deeply".into());
        }
        let mut node = Node {
            name: String::from_utf8_lossy(start.name().as_ref()).into_owned(),
            item_type: None,
            value: None,
            children: Vec::new(),
        };
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| format!("XML: {e}"))?;
            let value = attribute
                .unescape_value()
                .map_err(|e| format!("XML: {e}"))?
                .into_owned();
            match attribute.key.as_ref() {
                b"type" => node.item_type = Some(value),
                b"value" => node.value = Some(value),
                _ => {}
            }
        }
        if empty {
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None => roots.push(node),
            }
        } else {
            stack.push(node);
        }
    }
    match roots.as_slice() {
        [root] if root.name == "KMIP" => Ok(roots.remove(0).children),
        _ => Ok(roots),
    }
}
