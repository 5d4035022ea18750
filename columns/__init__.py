"""Everything inside one cortical column, written batched over many columns.

Modules
-------
sdr        SDR algebra, false-match probabilities, encoders.
dendrites  Segment/synapse storage for all columns of a region (flat cell index space).
kernels    Event-driven segment activity and vectorised permanence learning.
layers     L1 feedback, L2/3 object pooling, L4 input, L5 action, L6 location.
gridcells  Grid-cell modules: path integration, anchoring, phase <-> SDR.
plasticity Local learning rules (Hebbian, STDP, BCM), homeostasis, synapse budgets, novelty.
neurons    Izhikevich spiking neurons and the classic 1000-neuron network.
column     A column as a view onto region-wide batched layer state.

`columns` never imports `regions`.
"""

__version__ = "0.1.0"
