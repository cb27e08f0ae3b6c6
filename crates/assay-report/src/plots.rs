//! The report's charts as SVG strings, drawn with plotters' SVG backend.
//!
//! plotters escapes the text it writes into the SVG (`<`, `&`, quotes), so names go in as
//! they are. Text is laid out by the browser with the generic `sans-serif` family; no font
//! is embedded or fetched.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

/// An error of the drawing backend (writing into a string: should not happen).
pub type PlotError = Box<dyn std::error::Error>;

const WIDTH: u32 = 820;
const FONT: &str = "sans-serif";
const BLUE_: RGBColor = RGBColor(31, 119, 180);
const ORANGE_: RGBColor = RGBColor(255, 127, 14);
const GREEN_: RGBColor = RGBColor(44, 160, 44);
const RED_: RGBColor = RGBColor(214, 39, 40);
const PURPLE_: RGBColor = RGBColor(148, 103, 189);
const BROWN_: RGBColor = RGBColor(140, 86, 75);
const GREY_: RGBColor = RGBColor(127, 127, 127);
/// Colours of successive series (matplotlib's tab10).
const PALETTE: [RGBColor; 7] = [BLUE_, ORANGE_, GREEN_, RED_, PURPLE_, BROWN_, GREY_];

/// One bar: name, value, 95% half-width (NaN: no error bar).
pub struct Bar {
    /// Label on the axis.
    pub name: String,
    /// Length of the bar.
    pub value: f64,
    /// Half-width of the error bar.
    pub half_width: f64,
}

/// A line of a line chart.
pub struct Line {
    /// Legend entry.
    pub name: String,
    /// Points, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Dashed (fitted curves) rather than solid with markers (measurements).
    pub dashed: bool,
    /// Index into the palette.
    pub color: usize,
}

/// A vertical line across a line chart at `x`, named in the legend (the best epoch, where
/// training stopped).
pub struct Mark {
    /// Legend entry.
    pub name: String,
    /// Where on the x axis.
    pub x: f64,
    /// Index into the palette.
    pub color: usize,
}

/// Padded `[lo, hi]` covering `values` (and 0 when `with_zero`).
fn span(values: impl Iterator<Item = f64>, with_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = if with_zero {
        (0.0f64, 0.0f64)
    } else {
        (f64::INFINITY, f64::NEG_INFINITY)
    };
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        0.08 * (hi - lo)
    } else {
        lo.abs().max(1e-6) * 0.1
    };
    (lo - pad, hi + pad)
}

/// A tick's label on an axis spanning `lo..hi` (about ten ticks): as many decimals as the tick
/// step needs and no more, so 0.0003 and 1,200 both read whole and neither is padded.
pub fn tick_label(value: f64, lo: f64, hi: f64) -> String {
    let step = ((hi - lo).abs() / 10.0).max(f64::MIN_POSITIVE);
    let decimals = (-step.log10()).ceil().clamp(0.0, 8.0) as usize;
    let text = format!("{value:.decimals$}");
    // "-0" and "-0.00" read as zero.
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_owned()
    } else {
        text
    }
}

/// Horizontal bars with 95% error bars, one per name, largest at the top; negative bars red.
pub fn bars(title: &str, x_label: &str, bars: &[Bar]) -> Result<String, PlotError> {
    let mut order: Vec<&Bar> = bars.iter().collect();
    order.sort_by(|a, b| a.value.total_cmp(&b.value));
    let n = order.len().max(1);
    let height = 110 + 34 * n as u32;
    let longest = order
        .iter()
        .map(|b| b.name.chars().count())
        .max()
        .unwrap_or(4);
    let label_width = (longest as u32 * 9 + 20).clamp(60, 340);
    let (lo, hi) = span(
        order.iter().flat_map(|b| {
            let w = if b.half_width.is_finite() {
                b.half_width
            } else {
                0.0
            };
            [b.value - w, b.value + w]
        }),
        true,
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let last = n - 1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 23))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(label_width)
            .build_cartesian_2d(lo..hi, (0..last).into_segmented())?;
        let names: Vec<String> = order.iter().map(|b| b.name.clone()).collect();
        let label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&label)
            .x_labels(8)
            .x_label_formatter(&|x| tick_label(*x, lo, hi))
            .x_desc(x_label)
            .label_style((FONT, 17))
            .axis_desc_style((FONT, 18))
            .draw()?;
        chart.draw_series(order.iter().enumerate().map(|(i, b)| {
            let color = if b.value < 0.0 { RED_ } else { BLUE_ };
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (b.value, SegmentValue::Exact(i + 1)),
                ],
                color.mix(0.75).filled(),
            );
            bar.set_margin(7, 7, 0, 0);
            bar
        }))?;
        chart.draw_series(
            order
                .iter()
                .enumerate()
                .filter(|(_, b)| b.half_width.is_finite() && b.half_width > 0.0)
                .map(|(i, b)| {
                    ErrorBar::new_horizontal(
                        SegmentValue::CenterOf(i),
                        b.value - b.half_width,
                        b.value,
                        b.value + b.half_width,
                        BLACK.stroke_width(2),
                        10,
                    )
                }),
        )?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, SegmentValue::Exact(0)), (0.0, SegmentValue::Last)],
            BLACK.stroke_width(1),
        )))?;
        root.present()?;
    }
    Ok(svg)
}

/// A histogram of `values` in `n_bins` equal bins, with a line at zero.
pub fn histogram(
    title: &str,
    x_label: &str,
    values: &[f64],
    n_bins: usize,
) -> Result<String, PlotError> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = span(finite.iter().copied(), false);
    let n_bins = n_bins.max(1);
    let width = (hi - lo) / n_bins as f64;
    let mut counts = vec![0u32; n_bins];
    for &v in &finite {
        let bin = (((v - lo) / width) as usize).min(n_bins - 1);
        counts[bin] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 23))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .max_light_lines(2)
            .x_labels(8)
            .x_label_formatter(&|x| format!("{x:.4}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_desc(x_label)
            .y_desc("count")
            .label_style((FONT, 17))
            .axis_desc_style((FONT, 18))
            .draw()?;
        chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
            let x0 = lo + i as f64 * width;
            let color = if x0 + width <= 0.0 { RED_ } else { BLUE_ };
            let mut bar =
                Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], color.mix(0.7).filled());
            bar.set_margin(0, 0, 1, 1);
            bar
        }))?;
        if lo < 0.0 && hi > 0.0 {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (0.0, top)],
                BLACK.stroke_width(1),
            )))?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// Where a line chart's legend goes: a corner the lines leave empty.
pub use plotters::chart::SeriesLabelPosition as LegendAt;

/// Lines against a shared x axis, with a legend at `legend`; measured lines get point
/// markers.
pub fn lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    lines: &[Line],
    x_percent: bool,
    legend: LegendAt,
) -> Result<String, PlotError> {
    marked_lines(title, x_label, y_label, lines, &[], x_percent, legend)
}

/// [`lines`] with dotted vertical `marks` across the plot, each in the legend.
pub fn marked_lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    lines: &[Line],
    marks: &[Mark],
    x_percent: bool,
    legend: LegendAt,
) -> Result<String, PlotError> {
    let (x_lo, x_hi) = span(
        lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .chain(marks.iter().map(|m| m.x)),
        false,
    );
    let (y_lo, y_hi) = span(
        lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)),
        false,
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let y_format = |y: &f64| tick_label(*y, y_lo, y_hi);
        let y_width = [y_lo, y_hi, (y_lo + y_hi) / 2.0]
            .iter()
            .map(|y| y_format(y).chars().count())
            .max()
            .unwrap_or(4) as u32;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 23))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(70.max(16 + 10 * y_width))
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
        let x_format = |x: &f64| {
            if x_percent {
                format!("{:.0}%", x * 100.0)
            } else {
                tick_label(*x, x_lo, x_hi)
            }
        };
        chart
            .configure_mesh()
            .x_labels(10)
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style((FONT, 17))
            .axis_desc_style((FONT, 18))
            .draw()?;
        for line in lines {
            let color = PALETTE[line.color % PALETTE.len()];
            let style = color.stroke_width(2);
            if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(
                        line.points.iter().copied(),
                        8,
                        5,
                        style,
                    ))?
                    .label(line.name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
            } else {
                chart
                    .draw_series(LineSeries::new(line.points.iter().copied(), style))?
                    .label(line.name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                chart.draw_series(
                    line.points
                        .iter()
                        .map(|&p| Circle::new(p, 3, color.filled())),
                )?;
            }
        }
        for mark in marks.iter().filter(|m| m.x.is_finite()) {
            let color = PALETTE[mark.color % PALETTE.len()];
            chart
                .draw_series(DashedLineSeries::new(
                    [(mark.x, y_lo), (mark.x, y_hi)],
                    3,
                    4,
                    color.stroke_width(2),
                ))?
                .label(mark.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(
                        vec![(x + 10, y - 7), (x + 10, y + 7)],
                        color.stroke_width(2),
                    )
                });
        }
        chart
            .configure_series_labels()
            .position(legend)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 17))
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_carry_the_decimals_of_the_step() {
        // Span 0.001: step 0.0001, four decimals.
        assert_eq!(tick_label(0.0003, 0.0, 0.001), "0.0003");
        // Span 0.02: step 0.002, three decimals (log10 0.002 = -2.7).
        assert_eq!(tick_label(0.0125, 0.0, 0.02), "0.013");
        // Span 1200: step 120, no decimals.
        assert_eq!(tick_label(1200.0, 0.0, 1200.0), "1200");
        assert_eq!(tick_label(-0.0001, -1.0, 1.0), "0.0");
        assert_eq!(tick_label(3.0, 1.0, 3.0), "3.0");
    }

    #[test]
    fn a_narrow_bar_chart_labels_each_tick_differently() {
        // A difference of 0.0005 with a 95% half-width of 0.0014: ticks every 0.0005 would
        // all round to three decimals as pairs ("0.001", "0.001").
        let svg = bars(
            "A/B difference",
            "share",
            &[Bar {
                name: "difference".into(),
                value: 0.0005,
                half_width: 0.0014,
            }],
        )
        .unwrap();
        let labels: Vec<&str> = svg
            .split("</text>")
            .filter_map(|t| t.rsplit('>').next().map(str::trim))
            .filter(|t| t.parse::<f64>().is_ok())
            .collect();
        assert!(labels.len() >= 4, "{labels:?}");
        let mut distinct = labels.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), labels.len(), "{labels:?}");
    }

    #[test]
    fn charts_are_closed_svg_with_escaped_names() {
        let svg = bars(
            "a <b> & c",
            "value",
            &[
                Bar {
                    name: "source=<script>".into(),
                    value: -0.5,
                    half_width: 0.1,
                },
                Bar {
                    name: "source=app".into(),
                    value: 1.5,
                    half_width: f64::NAN,
                },
            ],
        )
        .unwrap();
        assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(
            !svg.contains("<script>") && svg.contains("&lt;script&gt;"),
            "{svg}"
        );
        assert!(svg.contains("source=app"));
        let svg = histogram("h", "value", &[1.0, 2.0, 2.5, f64::NAN, -1.0], 4).unwrap();
        assert!(svg.matches("<svg").count() == 1 && svg.contains("</svg>"));
        let svg = lines(
            "l",
            "x",
            "y",
            &[Line {
                name: "fit".into(),
                points: vec![(0.0, 0.0), (1.0, 1.0)],
                dashed: true,
                color: 1,
            }],
            true,
            LegendAt::UpperLeft,
        )
        .unwrap();
        assert!(svg.contains("fit") && svg.contains("100%"), "{svg}");
    }
}
