//! The page around the content: head, inline CSS, header, summary tiles,
//! sections of items and matrices.

use std::fmt::Write;

use super::escape::{anchor, escape};
use super::{matrix, Block, Item, Page, Section, SectionBody};

/// Every style of the page. No web fonts, no images: the file must render
/// the same with no network at all.
const CSS: &str = r#"
:root{--c-2xx:#2f9e5f;--c-401:#7b5ea7;--c-403:#e07b24;--c-404:#5f7184;--c-409:#e3c02c;
--c-422:#2b83ba;--c-5xx:#a50f15;--c-other:#b8a48a;--c-none:#f1f2f4;--mismatch:#e6007e;
--bad:#c62828;--good:#2e7d32;--warn:#b26a00;--info:#1f6fb2;--muted:#6b7280;--line:#d8dbe0}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2330;background:#f7f8fa}
main{max-width:1500px;margin:0 auto;padding:20px 28px 60px}
h1{font-size:22px;margin:0 0 6px}
h2{font-size:17px;margin:28px 0 6px;padding-bottom:4px;border-bottom:1px solid var(--line)}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
.facts{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0;color:#374151}
.facts div{display:flex;gap:5px}.facts dt{color:var(--muted)}.facts dd{margin:0;font-weight:600}
.counts{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0 8px}
.count{min-width:110px;padding:8px 14px;border-radius:8px;background:#fff;border:1px solid var(--line);border-top:4px solid var(--muted)}
.count .v{font-size:26px;font-weight:700;line-height:1.1}.count .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.count.good{border-top-color:var(--good)}.count.bad{border-top-color:var(--bad)}.count.warn{border-top-color:var(--warn)}.count.info{border-top-color:var(--info)}
.count.bad.nonzero .v{color:var(--bad)}.count.warn.nonzero .v{color:var(--warn)}
.notices{background:#fff7e0;border:1px solid #f0d58a;border-radius:6px;padding:8px 14px;margin:10px 0}
.notices li{margin:2px 0}
nav.toc{margin:6px 0;color:var(--muted)}nav.toc a{margin-right:14px;color:var(--info);text-decoration:none}
.intro{color:#4b5563;margin:4px 0 10px;max-width:110ch}
.matrix-summary{margin:4px 0}.bad-text{color:var(--bad)}.good-text{color:var(--good)}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;padding:0;margin:8px 0 12px;font-size:12.5px}
.legend li{display:flex;align-items:center;gap:6px}.legend .n{color:var(--muted)}
.swatch{display:inline-block;width:16px;height:14px;border-radius:3px;border:1px solid rgba(0,0,0,.15)}
.mismatch-swatch{background:#fff;outline:3px solid var(--mismatch);outline-offset:-3px}
.panels{display:flex;flex-wrap:wrap;gap:14px 22px;align-items:flex-start}
.panel{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 10px 10px}
.panel figcaption{font-weight:700;margin:0 0 4px;font-size:14px}.panel .dim{color:var(--muted);font-weight:400;font-size:12px;margin-right:4px}
table.matrix{border-collapse:separate;border-spacing:2px}
.matrix th{font-weight:500;font-size:11.5px;color:#374151}
.matrix th.dimh{text-align:left;vertical-align:bottom;color:var(--muted);font-weight:400;padding:0 4px 2px 0}
.matrix th.colh{height:84px;width:34px;vertical-align:bottom;padding:0 0 2px}
.matrix th.colh span{display:inline-block;writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;text-align:left}
.matrix th.rowh{text-align:left;white-space:nowrap;padding:0 8px 0 2px}
.matrix th.outer{vertical-align:middle;border-right:2px solid var(--line);max-width:104px;white-space:normal;line-height:1.2}
.matrix tr.group > *{border-top:0}
.matrix tr.group td,.matrix tr.group th.rowh:not(.outer){box-shadow:0 -2px 0 #fff,0 -3px 0 var(--line)}
td.m{text-shadow:0 0 2px rgba(0,0,0,.35);width:34px;min-width:34px;height:18px;border-radius:3px;text-align:center;font:600 10px/18px ui-monospace,"DejaVu Sans Mono",monospace;color:#fff;position:relative;cursor:default}
td.c-none{background:var(--c-none);background-image:repeating-linear-gradient(45deg,transparent 0 4px,#e3e5e9 4px 5px)}
td.c-2xx{background:var(--c-2xx)}td.c-401{background:var(--c-401)}td.c-403{background:var(--c-403)}
td.c-404{background:var(--c-404)}td.c-409{background:var(--c-409);color:#2b2300}td.c-422{background:var(--c-422)}
td.c-5xx{background:var(--c-5xx)}td.c-other{background:var(--c-other);color:#2b2300}
.swatch.c-2xx{background:var(--c-2xx)}.swatch.c-401{background:var(--c-401)}.swatch.c-403{background:var(--c-403)}.swatch.c-404{background:var(--c-404)}
.swatch.c-409{background:var(--c-409)}.swatch.c-422{background:var(--c-422)}.swatch.c-5xx{background:var(--c-5xx)}.swatch.c-other{background:var(--c-other)}
.swatch.c-none{background:var(--c-none);background-image:repeating-linear-gradient(45deg,transparent 0 4px,#d5d8de 4px 5px)}
td.m.mismatch{outline:3px solid var(--mismatch);outline-offset:0;z-index:1}
td.m.mismatch::before{content:"✕";margin-right:1px}
td.m:hover{filter:brightness(1.12)}
.items{display:flex;flex-direction:column;gap:4px}
details.item{background:#fff;border:1px solid var(--line);border-left:4px solid var(--muted);border-radius:6px}
details.item.good{border-left-color:var(--good)}details.item.bad{border-left-color:var(--bad)}details.item.warn{border-left-color:var(--warn)}details.item.info{border-left-color:var(--info)}
details.item > summary{cursor:pointer;padding:5px 10px;display:flex;gap:10px;align-items:baseline;list-style:none}
details.item > summary::-webkit-details-marker{display:none}
details.item > summary::before{content:"▸";color:var(--muted);width:10px}details.item[open] > summary::before{content:"▾"}
.badge{display:inline-block;min-width:72px;text-align:center;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.03em;padding:1px 6px;border-radius:10px;color:#fff;background:var(--muted)}
.badge.good{background:var(--good)}.badge.bad{background:var(--bad)}.badge.warn{background:var(--warn)}.badge.info{background:var(--info)}
.item .id{font-weight:600}.item .title{color:#4b5563;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;flex:1}
.tag{font-size:11px;color:var(--muted);border:1px solid var(--line);border-radius:4px;padding:0 5px}
.body{padding:4px 14px 12px 34px}
.fields{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:4px 0 8px}
.fields dt{color:var(--muted)}.fields dd{margin:0;white-space:pre-wrap;word-break:break-word}
.blocks{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:8px}
@media (max-width:900px){.blocks{grid-template-columns:minmax(0,1fr)}}
.block.wide{grid-column:1/-1}
.block h4{margin:0 0 2px;font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em}
.block pre{margin:0;padding:8px 10px;background:#f3f4f7;border:1px solid #e4e6ea;border-radius:5px;white-space:pre-wrap;word-break:break-word;max-height:460px;overflow:auto}
.block.replay pre{background:#1e2430;color:#e8ecf3;border-color:#1e2430}
footer{margin-top:30px;color:var(--muted);font-size:12px}
"#;

/// The document.
pub fn render(page: &Page) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{}</title><style>{CSS}</style></head><body><main>"#,
        escape(&page.title)
    );
    let _ = write!(out, "<header><h1>{}</h1>", escape(&page.title));
    out.push_str(r#"<dl class="facts">"#);
    for (label, value) in &page.facts {
        let _ = write!(
            out,
            r#"<div data-fact="{k}"><dt>{l}</dt><dd>{v}</dd></div>"#,
            k = escape(&anchor(&label.to_ascii_lowercase())),
            l = escape(label),
            v = escape(value)
        );
    }
    out.push_str("</dl></header>");
    out.push_str(r#"<section class="counts" aria-label="summary">"#);
    for c in &page.counts {
        let _ = write!(
            out,
            r#"<div class="count {tone}{nz}" data-count="{k}"><div class="v">{v}</div><div class="l">{l}</div></div>"#,
            tone = c.tone.class(),
            nz = if c.value > 0 { " nonzero" } else { "" },
            k = escape(&c.key),
            v = c.value,
            l = escape(&c.label)
        );
    }
    out.push_str("</section>");
    if !page.notices.is_empty() {
        out.push_str(r#"<ul class="notices">"#);
        for n in &page.notices {
            let _ = write!(out, "<li>{}</li>", escape(n));
        }
        out.push_str("</ul>");
    }
    if page.sections.len() > 1 {
        out.push_str(r#"<nav class="toc">"#);
        for s in &page.sections {
            let _ = write!(
                out,
                r##"<a href="#{}">{}</a>"##,
                escape(&anchor(&s.id)),
                escape(&s.title)
            );
        }
        out.push_str("</nav>");
    }
    for s in &page.sections {
        section(s, &mut out);
    }
    out.push_str(
        "<footer>Written by the Paperclip plugin host conformance suite. Hover a matrix cell for its cases.</footer></main></body></html>\n",
    );
    out
}

fn section(s: &Section, out: &mut String) {
    let kind = match s.body {
        SectionBody::Matrix(_) => "matrix",
        SectionBody::Items(_) => "items",
    };
    let _ = write!(
        out,
        r#"<section id="{}" data-section="{kind}"><h2>{}</h2>"#,
        escape(&anchor(&s.id)),
        escape(&s.title)
    );
    if let Some(intro) = &s.intro {
        let _ = write!(out, r#"<p class="intro">{}</p>"#, escape(intro));
    }
    match &s.body {
        SectionBody::Matrix(m) => matrix::render(m, out),
        SectionBody::Items(items) => {
            out.push_str(r#"<div class="items">"#);
            for item in items {
                render_item(item, out);
            }
            out.push_str("</div>");
        }
    }
    out.push_str("</section>");
}

fn render_item(item: &Item, out: &mut String) {
    let tone = item.tone.class();
    let _ = write!(
        out,
        r#"<details class="item {tone}" id="item-{a}" data-id="{id}" data-status="{st}"{open}><summary><span class="badge {tone}">{st}</span><span class="id">{id}</span>"#,
        a = escape(&anchor(&item.id)),
        id = escape(&item.id),
        st = escape(&item.status),
        open = if item.open { " open" } else { "" },
    );
    for t in &item.tags {
        let _ = write!(out, r#"<span class="tag">{}</span>"#, escape(t));
    }
    let _ = write!(
        out,
        r#"<span class="title">{}</span></summary><div class="body">"#,
        escape(&item.title)
    );
    if !item.fields.is_empty() {
        out.push_str(r#"<dl class="fields">"#);
        for (label, value) in &item.fields {
            let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(value));
        }
        out.push_str("</dl>");
    }
    if !item.blocks.is_empty() {
        out.push_str(r#"<div class="blocks">"#);
        for b in &item.blocks {
            block(b, out);
        }
        out.push_str("</div>");
    }
    out.push_str("</div></details>");
}

fn block(b: &Block, out: &mut String) {
    let _ = write!(
        out,
        r#"<div class="block {kind}{wide}" data-block="{kind}"><h4>{l}</h4><pre>{t}</pre></div>"#,
        kind = b.kind,
        wide = if b.wide { " wide" } else { "" },
        l = escape(&b.label),
        t = escape(&b.text)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::html::{Count, Tone};

    fn page() -> Page {
        Page {
            title: "Findings of <host>".into(),
            facts: vec![("Host".into(), "mock".into())],
            counts: vec![Count {
                key: "error".into(),
                label: "errors".into(),
                value: 2,
                tone: Tone::Bad,
            }],
            notices: vec!["a warning".into()],
            sections: vec![Section {
                id: "findings".into(),
                title: "Findings".into(),
                intro: None,
                body: SectionBody::Items(vec![Item {
                    id: "rule.x".into(),
                    title: "a rule".into(),
                    status: "error".into(),
                    tone: Tone::Bad,
                    tags: vec!["security".into()],
                    fields: vec![("evidence".into(), "<script>".into())],
                    blocks: vec![Block::new("replay", "replay", "conformance audit").wide()],
                    open: true,
                }]),
            }],
        }
    }

    #[test]
    fn a_generic_page_renders_its_items_escaped() {
        let html = render(&page());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>Findings of &lt;host&gt;</title>"));
        assert!(html.contains(r#"data-count="error"><div class="v">2</div>"#));
        assert!(html.contains(r#"data-id="rule.x" data-status="error" open>"#));
        assert!(html.contains("<dd>&lt;script&gt;</dd>"));
        assert!(!html.contains("<script"));
        assert!(html.contains(r#"class="block replay wide""#));
    }

    #[test]
    fn nothing_is_loaded_from_elsewhere() {
        let html = render(&page());
        for needle in ["src=", "http://", "https://", "@import", "url("] {
            assert!(!html.contains(needle), "{needle}");
        }
    }
}
