//! The [`Params`] trait (what a layer costs, as associated consts), the per-layer tree it
//! carries ([`Layer`]), and its printed form ([`Summary`]).

use core::fmt::{self, Write as _};

use crate::cost::Cost;
use crate::dtype::DType;
use crate::text::{Grouped, MaybeBytes, StackStr};
use crate::units::Bytes;

/// A layer or model whose cost is known at compile time.
///
/// Everything is an associated const (const trait methods are not stable Rust): `M::PARAMS` is
/// a `u64` the compiler computes. Implement it with `#[derive(Params)]` on a struct whose fields
/// are layers, or by hand by building a [`Cost`]:
///
/// ```
/// use estimator::{Cost, Activations, Params};
///
/// /// A learned scale per channel (like `nn.Parameter(torch.ones(c))`) that saves its input.
/// struct ChannelScale<const C: u64>;
///
/// impl<const C: u64> Params for ChannelScale<C> {
///     const COST: Cost = Cost::parameter(&[C])
///         .saves(Activations { per_token: C, ..Activations::ZERO })
///         .widths(C, C);
///     const KIND: &'static str = "ChannelScale";
/// }
///
/// assert_eq!(ChannelScale::<512>::PARAMS, 512);
/// assert_eq!(<[ChannelScale<512>; 4]>::PARAMS, 2048);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a layer: it does not implement `Params`",
    label = "not a layer",
    note = "use a layer from `estimator::layers`, `#[derive(Params)]` on your own struct, or mark the field `#[params(skip)]` if it holds no parameters"
)]
pub trait Params {
    /// Everything the memory model needs about this layer (see [`Cost`]).
    const COST: Cost;
    /// What the summary calls this layer (`"Linear"`, or the struct's name for a derive).
    const KIND: &'static str;
    /// Parameters stored, tied weights counted once: PyTorch's
    /// `sum(p.numel() for p in model.parameters())`.
    const PARAMS: u64 = Self::COST.counted().params;
    /// Parameters that train: PyTorch's `sum(p.numel() for p in model.parameters() if
    /// p.requires_grad)`.
    const TRAINABLE: u64 = Self::COST.counted().trainable;
    /// Buffer elements: PyTorch's `sum(b.numel() for b in model.buffers())`.
    const BUFFERS: u64 = Self::COST.counted().buffers;
    /// How many copies of [`Params::KIND`] this is (`N` for `[T; N]`).
    const REPEAT: u64 = 1;
    /// The sub-layers of one copy, for the summary (empty for a leaf layer).
    const LAYERS: &'static [Layer<'static>] = &[];

    /// Reads every field, so that the fields of a model struct that is never constructed are not
    /// reported as dead code; `#[derive(Params)]` implements it.
    #[doc(hidden)]
    fn __read_fields(&self) {}
}

/// One named entry of a model's layer tree: a field of a derived struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layer<'a> {
    /// The field name (`"lm_head"`, or `"0"` for a tuple field).
    pub name: &'a str,
    /// The layer type's [`Params::KIND`].
    pub kind: &'a str,
    /// Copies (`N` for `[T; N]`).
    pub repeat: u64,
    /// The whole field's cost: all copies, attributes applied.
    pub cost: Cost,
    /// `#[params(tied)]`: the parameters are another field's.
    pub tied: bool,
    /// `#[params(frozen)]`: the parameters do not train.
    pub frozen: bool,
    /// The sub-layers of one copy.
    pub children: &'a [Layer<'a>],
}

impl Layer<'static> {
    /// The entry for a field `name` of type `T`.
    #[must_use]
    pub const fn of<T: Params + ?Sized>(name: &'static str) -> Layer<'static> {
        Layer {
            name,
            kind: T::KIND,
            repeat: T::REPEAT,
            cost: T::COST,
            tied: false,
            frozen: false,
            children: T::LAYERS,
        }
    }
}

impl<'a> Layer<'a> {
    /// Marks the field `#[params(tied)]` (see [`Cost::tied`]).
    #[must_use]
    pub const fn tied(self) -> Layer<'a> {
        Layer {
            cost: self.cost.tied(),
            tied: true,
            ..self
        }
    }

    /// Marks the field `#[params(frozen)]` (see [`Cost::frozen`]).
    #[must_use]
    pub const fn frozen(self) -> Layer<'a> {
        Layer {
            cost: self.cost.frozen(),
            frozen: true,
            ..self
        }
    }

    /// Marks the field `#[params(unquantized)]`: weight quantization leaves it in its dtype, as
    /// bitsandbytes, GPTQ and AWQ leave a model's `lm_head` (see [`Cost::unquantized`]).
    #[must_use]
    pub const fn unquantized(self) -> Layer<'a> {
        Layer {
            cost: self.cost.unquantized(),
            ..self
        }
    }

    /// Marks the field `#[params(shares_input)]` (see [`Cost::shares_input`]).
    #[must_use]
    pub const fn shares_input(self) -> Layer<'a> {
        Layer {
            cost: self.cost.shares_input(),
            ..self
        }
    }
}

impl Cost {
    /// The cost of a struct whose fields are `layers`, in order: each field's cost
    /// [added](Cost::add) after the previous one (what `#[derive(Params)]` emits).
    #[must_use]
    pub const fn sum(layers: &[Layer<'_>]) -> Cost {
        let mut total = Cost::ZERO;
        let mut i = 0;
        while i < layers.len() {
            total = if i == 0 {
                layers[0].cost
            } else {
                total.add(layers[i].cost)
            };
            i += 1;
        }
        total
    }
}

impl<T: Params, const N: usize> Params for [T; N] {
    const COST: Cost = T::COST.repeated(N as u64);
    const KIND: &'static str = T::KIND;
    const REPEAT: u64 = match T::REPEAT.checked_mul(N as u64) {
        Some(n) => n,
        None => panic!("estimator: repeat count overflows u64"),
    };
    const LAYERS: &'static [Layer<'static>] = T::LAYERS;
}

macro_rules! tuple_impls {
    ($( ( $($name:ident $idx:literal),+ ) )+) => {$(
        /// Layers applied one after another.
        impl<$($name: Params),+> Params for ($($name,)+) {
            const COST: Cost = Cost::sum(Self::LAYERS);
            const KIND: &'static str = "tuple";
            #[allow(
                clippy::large_stack_arrays,
                reason = "a constant, evaluated at compile time into static data"
            )]
            const LAYERS: &'static [Layer<'static>] = &[$(Layer::of::<$name>($idx)),+];
        }
    )+};
}

tuple_impls! {
    (A "0")
    (A "0", B "1")
    (A "0", B "1", C "2")
    (A "0", B "1", C "2", D "3")
    (A "0", B "1", C "2", D "3", E "4")
    (A "0", B "1", C "2", D "3", E "4", F "5")
    (A "0", B "1", C "2", D "3", E "4", F "5", G "6")
    (A "0", B "1", C "2", D "3", E "4", F "5", G "6", H "7")
    (A "0", B "1", C "2", D "3", E "4", F "5", G "6", H "7", I "8")
    (A "0", B "1", C "2", D "3", E "4", F "5", G "6", H "7", I "8", J "9")
    (A "0", B "1", C "2", D "3", E "4", F "5", G "6", H "7", I "8", J "9", K "10")
    (A "0", B "1", C "2", D "3", E "4", F "5", G "6", H "7", I "8", J "9", K "10", L "11")
}

/// A printable per-layer table of a model, like PyTorch Lightning's `ModelSummary` or
/// torchinfo's `summary`: name, type, parameters, trainable parameters and their size.
///
/// ```
/// use estimator::prelude::*;
///
/// #[derive(Params)]
/// struct Mlp {
///     up: Linear<768, 3072>,
///     down: Linear<3072, 768>,
/// }
///
/// let text = Summary::of::<Mlp>().to_string();
/// // 768 · 3072 + 3072 parameters in `up`
/// assert!(text.lines().any(|l| l.starts_with("  0 | up ") && l.contains("2,362,368")));
/// assert!(text.contains("4,722,432      Total params"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Summary<'a> {
    kind: &'a str,
    cost: Cost,
    layers: &'a [Layer<'a>],
    depth: usize,
    dtype: DType,
}

impl Summary<'static> {
    /// The summary of `M`, one level deep, sizes in fp32 (as Lightning prints them).
    #[must_use]
    pub const fn of<M: Params + ?Sized>() -> Summary<'static> {
        Summary {
            kind: M::KIND,
            cost: M::COST,
            layers: M::LAYERS,
            depth: 1,
            dtype: DType::F32,
        }
    }
}

impl<'a> Summary<'a> {
    /// The summary of a model known by its parts at run time (`kind` names it, `cost` is the
    /// whole model's, `layers` its fields).
    #[must_use]
    pub const fn new(kind: &'a str, cost: Cost, layers: &'a [Layer<'a>]) -> Summary<'a> {
        Summary {
            kind,
            cost,
            layers,
            depth: 1,
            dtype: DType::F32,
        }
    }

    /// Shows sub-layers down to `depth` levels (1: the model's own fields).
    #[must_use]
    pub const fn depth(self, depth: usize) -> Summary<'a> {
        Summary { depth, ..self }
    }

    /// Sizes parameters in `dtype` (buffers keep their own dtypes).
    #[must_use]
    pub const fn dtype(self, dtype: DType) -> Summary<'a> {
        Summary { dtype, ..self }
    }
}

/// A layer's type as the summary shows it: `Block ×12`, `Linear (tied)`.
struct KindLabel<'a>(&'a Layer<'a>);

impl fmt::Display for KindLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.0;
        // Render into a small stack buffer so the table's width and padding apply to the whole
        // label.
        let mut w = StackStr::<96>::new();
        let _ = fmt::Write::write_str(&mut w, l.kind);
        if l.repeat != 1 {
            let _ = fmt::Write::write_fmt(&mut w, format_args!(" ×{}", l.repeat));
        }
        if l.tied {
            let _ = fmt::Write::write_str(&mut w, " (tied)");
        }
        if l.frozen {
            let _ = fmt::Write::write_str(&mut w, " (frozen)");
        }
        f.pad(w.as_str())
    }
}

/// Column widths of the table: name (with its dotted path) and type label.
fn widths(layers: &[Layer<'_>], depth: usize, prefix_len: usize, acc: &mut (usize, usize)) {
    for l in layers {
        let name = prefix_len + l.name.chars().count();
        acc.0 = acc.0.max(name);
        let mut w = StackStr::<96>::new();
        let _ = fmt::Write::write_fmt(&mut w, format_args!("{}", KindLabel(l)));
        acc.1 = acc.1.max(w.as_str().chars().count());
        if depth > 1 {
            widths(l.children, depth - 1, name + 1, acc);
        }
    }
}

struct Rows<'a> {
    f: &'a mut dyn fmt::Write,
    dtype: DType,
    name_w: usize,
    kind_w: usize,
    index: usize,
}

impl Rows<'_> {
    fn row(&mut self, path: &Path<'_>, l: &Layer<'_>, frozen: bool) -> fmt::Result {
        // A field under a frozen one does not train either.
        let trainable = if frozen || l.frozen {
            0
        } else {
            l.cost.trainable
        };
        let mut name = StackStr::<160>::new();
        write!(name, "{path}")?;
        let size = self
            .dtype
            .checked_bytes_for(l.cost.params)
            .and_then(|b| b.checked_add(Bytes::new(l.cost.buffer_bytes)));
        writeln!(
            self.f,
            "{:>3} | {:<nw$} | {:<kw$} | {:>13} | {:>13} | {:>10}",
            self.index,
            name.as_str(),
            KindLabel(l),
            Grouped(l.cost.params),
            Grouped(trainable),
            MaybeBytes(size),
            nw = self.name_w,
            kw = self.kind_w,
        )?;
        self.index += 1;
        Ok(())
    }

    fn walk(
        &mut self,
        parent: Option<&Path<'_>>,
        layers: &[Layer<'_>],
        depth: usize,
        frozen: bool,
    ) -> fmt::Result {
        for l in layers {
            let path = Path {
                parent,
                name: l.name,
            };
            self.row(&path, l, frozen)?;
            if depth > 1 && !l.children.is_empty() {
                self.walk(Some(&path), l.children, depth - 1, frozen || l.frozen)?;
            }
        }
        Ok(())
    }
}

/// A dotted layer path (`h.attn.q`) built on the stack.
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    name: &'a str,
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent {
            write!(f, "{p}.")?;
        }
        f.write_str(self.name)
    }
}

/// The table, then Lightning's totals. Sub-layers of `[T; N]` show one copy's counts.
impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.kind)?;
        let mut acc = ("Name".len(), "Type".len());
        widths(self.layers, self.depth, 0, &mut acc);
        let (name_w, kind_w) = acc;
        let size_head = match self.dtype {
            DType::F32 => "Size",
            d => d.name(),
        };
        writeln!(
            f,
            "{:>3} | {:<name_w$} | {:<kind_w$} | {:>13} | {:>13} | {:>10}",
            "", "Name", "Type", "Params", "Trainable", size_head
        )?;
        writeln!(
            f,
            "{:-<4}+{:-<w1$}+{:-<w2$}+{:-<15}+{:-<15}+{:-<11}",
            "",
            "",
            "",
            "",
            "",
            "",
            w1 = name_w + 2,
            w2 = kind_w + 2
        )?;
        let mut rows = Rows {
            f,
            dtype: self.dtype,
            name_w,
            kind_w,
            index: 0,
        };
        rows.walk(None, self.layers, self.depth, false)?;
        let c = &self.cost;
        let size = MaybeBytes(self.dtype.checked_bytes_for(c.params));
        writeln!(f, "{:-<1$}", "", name_w + kind_w + 54)?;
        writeln!(f, "{:<14} Trainable params", Grouped(c.trainable))?;
        writeln!(f, "{:<14} Non-trainable params", Grouped(c.frozen_params()))?;
        writeln!(f, "{:<14} Total params", Grouped(c.params))?;
        if c.buffers > 0 {
            writeln!(
                f,
                "{:<14} Buffers ({})",
                Grouped(c.buffers),
                Bytes::new(c.buffer_bytes)
            )?;
        }
        writeln!(
            f,
            "{:<14} Total estimated model params size ({})",
            size, self.dtype
        )
    }
}
