//! Dense layers for the small expert networks (f32, single observations).

use crate::checkpoint::StateDict;
use crate::ExpertError;

/// `y = W x + b` with `W` of shape [out, in], row-major.
#[derive(Clone)]
pub struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
}

impl Linear {
    /// Reads `{prefix}.weight` and `{prefix}.bias` from `dict`.
    /// `inputs` fixes the expected input size when known.
    pub fn from_state_dict(
        dict: &StateDict,
        prefix: &str,
        inputs: Option<usize>,
    ) -> Result<Self, ExpertError> {
        let weight_name = format!("{prefix}.weight");
        let w = dict.get(&weight_name)?;
        let shape_error = |expected: String| ExpertError::Shape {
            path: dict.path().to_path_buf(),
            name: weight_name.clone(),
            found: w.shape.clone(),
            expected,
        };
        let &[outputs, ins] = w.shape.as_slice() else {
            return Err(shape_error("a matrix [out, in]".into()));
        };
        if let Some(expected) = inputs {
            if ins != expected {
                return Err(shape_error(format!(
                    "[{outputs}, {expected}] (inputs {expected})"
                )));
            }
        }
        let b = dict.get_shaped(&format!("{prefix}.bias"), &[outputs])?;
        Ok(Self {
            weight: w.values.clone(),
            bias: b.values.clone(),
            inputs: ins,
        })
    }

    /// Input size.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Output size.
    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// Applies the layer to one input vector.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        debug_assert_eq!(x.len(), self.inputs);
        self.weight
            .chunks_exact(self.inputs)
            .zip(&self.bias)
            .map(|(row, b)| row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>() + b)
            .collect()
    }
}

/// Activations used between layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Hyperbolic tangent.
    Tanh,
    /// max(0, x).
    Relu,
}

impl Activation {
    /// Applies the activation in place.
    pub fn apply(self, x: &mut [f32]) {
        match self {
            Activation::Tanh => x.iter_mut().for_each(|v| *v = v.tanh()),
            Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
        }
    }
}

/// Layers with the same activation after every layer but the last.
#[derive(Clone)]
pub struct Mlp {
    layers: Vec<Linear>,
    activation: Activation,
}

impl Mlp {
    /// Chains `layers`, checking that sizes connect.
    pub fn new(layers: Vec<Linear>, activation: Activation) -> Self {
        for pair in layers.windows(2) {
            assert_eq!(
                pair[0].outputs(),
                pair[1].inputs(),
                "layer sizes do not connect"
            );
        }
        Self { layers, activation }
    }

    /// Input size.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs()
    }

    /// Output size.
    pub fn outputs(&self) -> usize {
        self.layers.last().expect("at least one layer").outputs()
    }

    /// Applies the network to one input vector.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut h = x.to_vec();
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h);
            if i < last {
                self.activation.apply(&mut h);
            }
        }
        h
    }
}

impl std::fmt::Debug for Linear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Linear({} -> {})", self.inputs, self.outputs())
    }
}

impl std::fmt::Debug for Mlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mlp")
            .field("layers", &self.layers)
            .field("activation", &self.activation)
            .finish()
    }
}
