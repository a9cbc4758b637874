//! The Control Suite's `tolerance` reward shaping.

/// How `tolerance` falls off outside its bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sigmoid {
    /// `exp(-(d·s)²/2)`, with s chosen so that d = 1 gives `value_at_margin`.
    Gaussian,
    /// `1 - d·(1 - value_at_margin)`, clipped at 0.
    Linear,
    /// `1 - (d·s)²` with `s = sqrt(1 - value_at_margin)`, clipped at 0.
    Quadratic,
}

/// Shape of a tolerance reward: 1 inside `[lower, upper]`, falling off over
/// `margin` to `value_at_margin` (Control Suite defaults: gaussian, 0.1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Lower bound (may be -inf).
    pub lower: f64,
    /// Upper bound (may be +inf).
    pub upper: f64,
    /// Distance over which the value falls off; 0 makes it a 0/1 indicator.
    pub margin: f64,
    /// Fall-off shape.
    pub sigmoid: Sigmoid,
    /// Value at a distance of exactly `margin` from the bounds.
    pub value_at_margin: f64,
}

impl Tolerance {
    /// Bounds with the Control Suite defaults (no margin, gaussian, 0.1).
    pub fn bounds(lower: f64, upper: f64) -> Self {
        Self {
            lower,
            upper,
            margin: 0.0,
            sigmoid: Sigmoid::Gaussian,
            value_at_margin: 0.1,
        }
    }

    /// Sets the margin.
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// Sets the fall-off shape and its value at the margin.
    pub fn sigmoid(mut self, sigmoid: Sigmoid, value_at_margin: f64) -> Self {
        self.sigmoid = sigmoid;
        self.value_at_margin = value_at_margin;
        self
    }

    /// Evaluates the tolerance at `x`.
    pub fn eval(&self, x: f64) -> f64 {
        let in_bounds = self.lower <= x && x <= self.upper;
        if in_bounds {
            return 1.0;
        }
        if self.margin == 0.0 {
            return 0.0;
        }
        let d = if x < self.lower {
            self.lower - x
        } else {
            x - self.upper
        } / self.margin;
        let vam = self.value_at_margin;
        match self.sigmoid {
            Sigmoid::Gaussian => {
                let scale = (-2.0 * vam.ln()).sqrt();
                (-0.5 * (d * scale).powi(2)).exp()
            }
            Sigmoid::Linear => {
                let scaled = d * (1.0 - vam);
                if scaled.abs() < 1.0 {
                    1.0 - scaled
                } else {
                    0.0
                }
            }
            Sigmoid::Quadratic => {
                let scaled = d * (1.0 - vam).sqrt();
                if scaled.abs() < 1.0 {
                    1.0 - scaled * scaled
                } else {
                    0.0
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_inside_bounds_and_value_at_margin_at_the_margin() {
        let t = Tolerance::bounds(1.2, f64::INFINITY).margin(0.6);
        assert_eq!(t.eval(1.5), 1.0);
        assert!((t.eval(0.6) - 0.1).abs() < 1e-12);
        assert!(t.eval(0.9) > 0.1 && t.eval(0.9) < 1.0);
    }

    #[test]
    fn linear_with_zero_value_at_margin_is_a_ramp() {
        let t = Tolerance::bounds(10.0, f64::INFINITY)
            .margin(10.0)
            .sigmoid(Sigmoid::Linear, 0.0);
        assert!((t.eval(5.0) - 0.5).abs() < 1e-12);
        assert_eq!(t.eval(-3.0), 0.0);
        assert_eq!(t.eval(12.0), 1.0);
    }

    #[test]
    fn quadratic_and_zero_margin() {
        let q = Tolerance::bounds(0.0, 0.0)
            .margin(1.0)
            .sigmoid(Sigmoid::Quadratic, 0.0);
        assert!((q.eval(0.5) - 0.75).abs() < 1e-12);
        assert!((q.eval(-0.5) - 0.75).abs() < 1e-12);
        let indicator = Tolerance::bounds(0.6, 2.0);
        assert_eq!(indicator.eval(0.59), 0.0);
        assert_eq!(indicator.eval(2.0), 1.0);
    }
}
