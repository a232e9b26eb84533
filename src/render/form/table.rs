//! `<table>`, `<tr>` and `<td>`: column widths, borders, header rows,
//! continuation onto new pages, and the check that spans fit the grid.
//!
//! May use the rest of `render::form` and `crate::render::page`.

use super::attrs::area_w;
use super::{
    Align, Axis, Ctx, MarkupError, Node, Parser, Style, Table, TableCell, TableRow, VAlign,
};
use crate::render::page::{Color, PT_PER_MM};

/// A row's cells as the grid check sees them: node, colspan, rowspan.
type GridCells<'b, 'input> = Vec<(Node<'b, 'input>, usize, usize)>;

impl<'input> Parser<'input> {
    pub(super) fn table(&self, node: Node, ctx: &Ctx) -> Result<Table, MarkupError> {
        let mut allowed = vec![
            "x",
            "y",
            "columns",
            "row-height",
            "border",
            "border-color",
            "overflow",
            "bottom",
            "continue-y",
        ];
        allowed.extend_from_slice(Self::STYLE_ATTRS);
        self.check_attrs(node, &allowed)?;
        let style = self.style(node, ctx, &ctx.style)?;
        let cols_attr = node.attribute("columns").ok_or_else(|| {
            self.err(
                node,
                "<table> には columns が必要です (columns required)".into(),
            )
        })?;
        let mut columns = Vec::new();
        for c in cols_attr.split_whitespace() {
            columns.push(self.length(node, "columns", c, &style, area_w(ctx))?);
        }
        if columns.is_empty() {
            return Err(self.err(node, "columns が空です (no columns)".into()));
        }
        let row_height = self
            .opt_length(node, "row-height", ctx, &style, Axis::H)?
            .unwrap_or(style.size * 2.0);
        let border = self
            .opt_length(node, "border", ctx, &style, Axis::W)?
            .unwrap_or(0.5);
        let continues = match node.attribute("overflow") {
            None | Some("error") => false,
            Some("continue") => true,
            Some(v) => {
                return Err(self.err(
                    node,
                    format!("overflow は error か continue です (got {v})"),
                ))
            }
        };
        let mut rows = Vec::new();
        let mut grid_rows = Vec::new();
        for r in self.elements(node)? {
            let after_body = rows.iter().any(|row: &TableRow| !row.header);
            let (row, grid) = self.row(r, ctx, &style, row_height, after_body)?;
            grid_rows.push((r, grid));
            rows.push(row);
        }
        self.check_grid(columns.len(), &grid_rows)?;
        Ok(Table {
            pos: self.pos(node),
            x: self.req_length(node, "x", ctx, &style, Axis::X)?,
            y: self.req_length(node, "y", ctx, &style, Axis::Y)?,
            columns,
            border,
            border_color: match node.attribute("border-color") {
                Some(v) => self.color(node, v)?,
                None => Color::BLACK,
            },
            continues,
            bottom: self.opt_length(node, "bottom", ctx, &style, Axis::Y)?,
            continue_y: self.opt_length(node, "continue-y", ctx, &style, Axis::Y)?,
            rows,
        })
    }

    /// One `<row>` and its cells, with each cell's node and spans for the
    /// grid check. `after_body`: a non-header row came before (header rows
    /// must come first).
    fn row<'b>(
        &self,
        r: Node<'b, 'input>,
        ctx: &Ctx,
        table_style: &Style,
        row_height: f32,
        after_body: bool,
    ) -> Result<(TableRow, GridCells<'b, 'input>), MarkupError> {
        if r.tag_name().name() != "row" {
            return Err(self.err(
                r,
                format!(
                    "<table> の中には <row> だけを書きます (only <row> in <table>, found <{}>)",
                    r.tag_name().name()
                ),
            ));
        }
        let mut allowed = vec!["h", "header"];
        allowed.extend_from_slice(Self::STYLE_ATTRS);
        self.check_attrs(r, &allowed)?;
        let rstyle = self.style(r, ctx, table_style)?;
        let height = self
            .opt_length(r, "h", ctx, &rstyle, Axis::H)?
            .unwrap_or(row_height);
        let header = match r.attribute("header") {
            Some(v) => self.boolean(r, "header", v)?,
            None => false,
        };
        if header && after_body {
            return Err(self.err(
                r,
                "見出し行は表の先頭に書きます (header rows must come first)".into(),
            ));
        }
        let mut cells: Vec<(Node, TableCell)> = Vec::new();
        for c in self.elements(r)? {
            if c.tag_name().name() != "cell" {
                return Err(self.err(
                    c,
                    format!(
                        "<row> の中には <cell> だけを書きます (only <cell> in <row>, found <{}>)",
                        c.tag_name().name()
                    ),
                ));
            }
            cells.push((c, self.cell(c, ctx, &rstyle)?));
        }
        let cells = cells;
        let grid = cells
            .iter()
            .map(|(n, c)| (*n, c.colspan, c.rowspan))
            .collect();
        let row = TableRow {
            height,
            header,
            cells: cells.into_iter().map(|(_, c)| c).collect(),
        };
        Ok((row, grid))
    }

    /// Checks that cells fit the column grid, rowspans included.
    pub(super) fn check_grid(
        &self,
        ncols: usize,
        rows: &[(Node, GridCells<'_, '_>)],
    ) -> Result<(), MarkupError> {
        // Rows still covered by a rowspan from above, per column.
        let mut covered = vec![0usize; ncols];
        for (i, (row, cells)) in rows.iter().enumerate() {
            let mut col = 0;
            for (node, colspan, rowspan) in cells {
                while col < ncols && covered[col] > 0 {
                    col += 1;
                }
                if col + colspan > ncols {
                    return Err(self.err(
                        *node,
                        format!("セルが列からはみ出します (cell does not fit the table's {ncols} columns)"),
                    ));
                }
                if i + rowspan > rows.len() {
                    return Err(self.err(
                        *node,
                        "rowspan が表の行数を超えます (rowspan goes past the last row)".into(),
                    ));
                }
                for c in covered.iter_mut().skip(col).take(*colspan) {
                    if *c > 0 {
                        return Err(self.err(
                            *node,
                            "セルが上の行の rowspan と重なります (cell overlaps a rowspan)".into(),
                        ));
                    }
                    *c = *rowspan;
                }
                col += colspan;
            }
            let _ = row;
            for c in &mut covered {
                *c = c.saturating_sub(1);
            }
        }
        Ok(())
    }

    pub(super) fn cell(
        &self,
        node: Node,
        ctx: &Ctx,
        row_style: &Style,
    ) -> Result<TableCell, MarkupError> {
        let mut allowed = vec![
            "colspan",
            "rowspan",
            "border-top",
            "border-right",
            "border-bottom",
            "border-left",
            "align",
            "valign",
            "padding",
            "fill",
            "fit",
            "min-font-size",
            "line-height",
        ];
        allowed.extend_from_slice(Self::STYLE_ATTRS);
        self.check_attrs(node, &allowed)?;
        let style = self.style(node, ctx, row_style)?;
        let colspan = match node.attribute("colspan") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| self.err(node, format!("colspan {v} は 1 以上の整数です")))?,
            None => 1,
        };
        let rowspan = match node.attribute("rowspan") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| self.err(node, format!("rowspan {v} は 1 以上の整数です")))?,
            None => 1,
        };
        let valign = self
            .valign(node, Some(VAlign::Middle))?
            .unwrap_or(VAlign::Middle);
        let mut borders = [None; 4];
        for (i, name) in ["border-top", "border-right", "border-bottom", "border-left"]
            .iter()
            .enumerate()
        {
            borders[i] = self.opt_length(node, name, ctx, &style, Axis::W)?;
        }
        Ok(TableCell {
            pos: self.pos(node),
            colspan,
            rowspan,
            borders,
            align: self.align(node, Align::Left)?,
            valign,
            padding: match node.attribute("padding") {
                None => {
                    let (v, h) = (1.0 * PT_PER_MM, 1.5 * PT_PER_MM);
                    [v, h, v, h]
                }
                Some(v) => {
                    let parts: Vec<&str> = v.split_whitespace().collect();
                    let one = |p: &str| self.length(node, "padding", p, &style, area_w(ctx));
                    match parts.as_slice() {
                        [all] => [one(all)?; 4],
                        [vertical, horizontal] => {
                            let (v, h) = (one(vertical)?, one(horizontal)?);
                            [v, h, v, h]
                        }
                        [t, r, b, l] => [one(t)?, one(r)?, one(b)?, one(l)?],
                        _ => {
                            return Err(self.err(
                                node,
                                format!("padding は長さ 1, 2, 4 個です (padding takes 1, 2 or 4 lengths: all / vertical horizontal / top right bottom left; got {v})"),
                            ))
                        }
                    }
                }
            },
            fill: node
                .attribute("fill")
                .map(|v| self.color(node, v))
                .transpose()?,
            fit: self.fit(node, &style)?,
            line_height: self.number(node, "line-height", 1.3)?,
            runs: self.runs(node, &style, 0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn table_grid_is_checked_with_rowspans() {
        let ok = parse(
            "<form><page><table x=\"0mm\" y=\"0mm\" columns=\"10mm 10mm\">\
             <row header=\"true\"><cell>a</cell><cell>b</cell></row>\
             <row><cell rowspan=\"2\" border-left=\"1pt\">c</cell><cell>d</cell></row>\
             <row><cell>e</cell></row></table></page></form>",
        )
        .unwrap();
        let Element::Table(t) = &ok.pages[0].elements[0] else {
            panic!()
        };
        assert!(t.rows[0].header && !t.rows[1].header);
        assert_eq!(t.rows[1].cells[0].rowspan, 2);
        assert_eq!(t.rows[1].cells[0].borders, [None, None, None, Some(1.0)]);
        // A third cell in the last row collides with the rowspan.
        let e = parse(
            "<form><page><table x=\"0mm\" y=\"0mm\" columns=\"10mm 10mm\">\
             <row><cell rowspan=\"2\">c</cell><cell>d</cell></row>\
             <row><cell>e</cell><cell>f</cell></row></table></page></form>",
        )
        .unwrap_err();
        assert_eq!(e.pos.col, 126, "{e}"); // the cell <cell>f</cell>
                                           // rowspan past the end, header after a body row.
        assert!(parse("<form><page><table x=\"0mm\" y=\"0mm\" columns=\"10mm\"><row><cell rowspan=\"2\">c</cell></row></table></page></form>").is_err());
        assert!(parse("<form><page><table x=\"0mm\" y=\"0mm\" columns=\"10mm\"><row><cell>c</cell></row><row header=\"true\"><cell>h</cell></row></table></page></form>").is_err());
    }
}
