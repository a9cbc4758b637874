//! What long work tells whoever shows it: the library reports, the command
//! line draws bars and prints lines.

/// One report of a long piece of work (a collection, a training run, an
/// evaluation, a relabeling).
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    /// Work of `total` units (`unit`: "steps", "trajectories") starts,
    /// `what` describing it; `at` units are done already (a resume).
    Begin {
        /// Units in all.
        total: u64,
        /// Units done before this session.
        at: u64,
        /// What a unit is.
        unit: &'static str,
        /// What the work is.
        what: &'a str,
    },
    /// Units done so far.
    At(u64),
    /// A new short status (the latest loss, the mean return so far).
    Status(&'a str),
    /// A line to keep on screen above the bar.
    Line(&'a str),
    /// The work ended (done or stopped).
    End,
}

/// Where reports go; [`quiet`] drops them.
pub type Reporter<'r> = &'r mut dyn FnMut(Progress<'_>);

/// A reporter that drops everything.
pub fn quiet(_: Progress<'_>) {}
