//! Measures the PDF writer: time and bytes per one-page certificate.
//!
//! `cargo run --release --example pdf_speed` — lays out 13 lines of 30
//! Japanese characters at 10.5pt in BIZ UD Mincho (plus a gothic title),
//! then times `write_pdf` for one-page documents and for one 1,000-page
//! document, and shows where the time goes.

use chohyo::pdf::{write_pdf_with, DocInfo, FontCores, PdfOptions};
use chohyo::render::fonts::FontSet;
use chohyo::render::image::ImageSet;
use chohyo::render::page::{Color, Glyph, GlyphRun, Op, Page, PT_PER_MM};
use std::path::Path;
use std::time::Instant;

const TEXT: &str = "上記の者は、当社において下記のとおり在職していることを証明します。\
所属部署は営業本部第一営業部であり、職位は主任として勤務しております。\
入社年月日は平成二十八年四月一日、雇用形態は正社員で、勤務地は東京都千代田区丸の内です。\
本証明書は、本人の申請に基づき、住宅ローン審査のために発行するものです。\
給与は月給制で、基本給のほか各種手当を支給しております。なお、休職の事実はありません。\
以上のとおり相違ないことを証明いたします。株式会社サンプル商事代表取締役社長山田一郎。\
お問い合わせは人事部労務課までご連絡ください。電話番号は〇三の一二三四の五六七八です。";

fn page(set: &FontSet, lines: usize, per_line: usize, size: f32) -> Page {
    let chain = set.chain("mincho").unwrap();
    let chars: Vec<char> = TEXT.chars().collect();
    let mut ops = Vec::new();
    let title = set.chain("gothic-bold").unwrap();
    let mut glyphs = Vec::new();
    let mut x = 220.0;
    for ch in "在職証明書".chars() {
        let (fid, gid) = set.resolve(title, ch).unwrap();
        glyphs.push(Glyph {
            gid,
            x,
            text: ch.to_string(),
        });
        x += set.font(fid).advance(gid) * 24.0 + 12.0;
    }
    ops.push(Op::Text(GlyphRun {
        font: set.resolve(title, '在').unwrap().0,
        size: 24.0,
        color: Color::BLACK,
        baseline: 100.0,
        glyphs,
    }));
    for l in 0..lines {
        let mut glyphs = Vec::new();
        let mut x = 72.0;
        let mut font = None;
        for i in 0..per_line {
            let ch = chars[(l * per_line + i) % chars.len()];
            let (fid, gid) = set.resolve(chain, ch).unwrap();
            font = Some(fid);
            glyphs.push(Glyph {
                gid,
                x,
                text: ch.to_string(),
            });
            x += set.font(fid).advance(gid) * size;
        }
        ops.push(Op::Text(GlyphRun {
            font: font.unwrap(),
            size,
            color: Color::BLACK,
            baseline: 160.0 + l as f32 * size * 1.7,
            glyphs,
        }));
    }
    Page {
        width: 210.0 * PT_PER_MM,
        height: 297.0 * PT_PER_MM,
        ops,
    }
}

fn time<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut last = f();
    let start = Instant::now();
    for _ in 0..n {
        last = f();
    }
    (start.elapsed().as_secs_f64() * 1e6 / n as f64, last)
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fonts");
    let set = FontSet::load(&FontSet::default_slots(&dir)).unwrap();
    // No cores: as `write_pdf`, every subset is compressed whole.
    let cores = FontCores::default();
    let images = ImageSet::default();
    let info = DocInfo {
        title: "在職証明書".into(),
        created: "20250401000000".into(),
    };
    let p = page(&set, 13, 30, 10.5);
    let n = 1000;

    if std::env::args().nth(1).as_deref() == Some("profile") {
        // Just the default one-page case, for `perf record`.
        let one = std::slice::from_ref(&p);
        let (us, _) = time(5000, || {
            write_pdf_with(one, &set, &cores, &images, &info, &PdfOptions::default())
        });
        println!("{us:.1} µs/page");
        return;
    }
    let pages: Vec<Page> = (0..1000).map(|_| p.clone()).collect();
    for (label, opts) in [
        ("default (level 1)", PdfOptions::default()),
        (
            "level 6",
            PdfOptions {
                font_level: 6,
                content_level: 6,
            },
        ),
        ("SMALL (level 9)", PdfOptions::SMALL),
    ] {
        let one = std::slice::from_ref(&p);
        let (us, bytes) = time(n, || {
            write_pdf_with(one, &set, &cores, &images, &info, &opts).unwrap()
        });
        println!(
            "{label}: one-page certificate: {us:.1} µs/page, {} bytes/page",
            bytes.len()
        );
        let (us, bytes) = time(3, || {
            write_pdf_with(&pages, &set, &cores, &images, &info, &opts).unwrap()
        });
        println!(
            "{label}: 1000-page document: {:.1} µs/page, {:.0} bytes/page",
            us / 1000.0,
            bytes.len() as f64 / 1000.0
        );
    }

    // Where the time goes, for the mincho font of the one-page document.
    let chain = set.chain("mincho").unwrap();
    let font = set.font(chain[0]);
    let mut gids: Vec<u16> = TEXT
        .chars()
        .take(13 * 30)
        .filter_map(|c| set.resolve(chain, c).map(|(_, g)| g))
        .collect();
    gids.sort();
    gids.dedup();
    let remapper = subsetter::GlyphRemapper::new_from_glyphs_sorted(&gids);
    let (us, sub) = time(200, || subsetter::subset(&font.data, 0, &remapper).unwrap());
    println!(
        "  subset of {} glyphs: {us:.1} µs, {} bytes",
        gids.len(),
        sub.len()
    );
    tables(&sub);
    println!("    instructions: {:?}", instr_bytes(&sub));
    for level in [1u8, 2, 3, 4, 6, 9] {
        let (us, z) = time(200, || {
            miniz_oxide::deflate::compress_to_vec_zlib(&sub, level)
        });
        println!(
            "  font deflate level {level}: {us:.1} µs, {} bytes",
            z.len()
        );
    }
}

#[allow(dead_code)]
fn tables(data: &[u8]) {
    let n = u16::from_be_bytes([data[4], data[5]]) as usize;
    for i in 0..n {
        let r = &data[12 + 16 * i..28 + 16 * i];
        let tag = String::from_utf8_lossy(&r[..4]).into_owned();
        let len = u32::from_be_bytes([r[12], r[13], r[14], r[15]]);
        println!("    {tag}: {len}");
    }
}

#[allow(dead_code)]
fn instr_bytes(data: &[u8]) -> (usize, usize) {
    let face = ttf_parser::RawFace::parse(data, 0).unwrap();
    let glyf = face.table(ttf_parser::Tag::from_bytes(b"glyf")).unwrap();
    let loca = face.table(ttf_parser::Tag::from_bytes(b"loca")).unwrap();
    let head = face.table(ttf_parser::Tag::from_bytes(b"head")).unwrap();
    let long = head[51] == 1;
    let off = |i: usize| -> usize {
        if long {
            u32::from_be_bytes(loca[4 * i..4 * i + 4].try_into().unwrap()) as usize
        } else {
            2 * u16::from_be_bytes(loca[2 * i..2 * i + 2].try_into().unwrap()) as usize
        }
    };
    let n = loca.len() / if long { 4 } else { 2 } - 1;
    let (mut ins, mut simple) = (0, 0);
    for i in 0..n {
        let g = &glyf[off(i)..off(i + 1)];
        if g.len() < 10 {
            continue;
        }
        let nc = i16::from_be_bytes([g[0], g[1]]);
        if nc >= 0 {
            let p = 10 + 2 * nc as usize;
            ins += u16::from_be_bytes([g[p], g[p + 1]]) as usize;
            simple += 1;
        }
    }
    (ins, simple)
}
