using System;
using System.Linq;
using System.Numerics.Tensors;
using ConvGen.Internal;

namespace ConvGen;

public abstract partial class Model
{
    private IDataParallel? _dataParallel;
    private int[] _gradientsReadyFrom = [];
    private bool _reducing;
    private int _reducedFrom;
    private Tensor? _shardView;
    private Tensor? _shardSource;
    private int _shardStart;

    /// <summary>The rank's loss sum and correct count of a step, summed across the group with the gradients (pinned for that).</summary>
    private readonly float[] _shardMetrics = GC.AllocateArray<float>(2, pinned: true);

    /// <summary>
    /// The group this model trains in data-parallel (null, the default: this process alone). When set, <c>TrainStep</c> and
    /// <see cref="Fit"/> take the <b>global</b> batch, the same on every rank: each rank trains on its shard of it (rows
    /// <c>[N·r/P, N·(r+1)/P)</c>), its gradient is scaled by its share of the batch, summed across the group in buckets that
    /// start while the backward pass goes on, and every rank applies the same optimizer step to the same sum. The loss and
    /// accuracy returned are those of the global batch. <see cref="Evaluate"/> evaluates this rank's shard of the data and
    /// returns the global figures; <see cref="Fit"/> prints progress on rank 0 only and averages the non-trainable state
    /// (<see cref="StateBuffer"/>) across the group after every epoch. Forward, Backward and Predict are unaffected.
    /// </summary>
    /// <remarks>
    /// The ranks must start from the same weights (ConvGen.Mpi's <c>DistributedTrainer</c> broadcasts them and checks shapes).
    /// A rank whose shard of a batch is empty (a global batch smaller than the group) still takes part in every sum.
    /// </remarks>
    /// <exception cref="ArgumentException">The group's <see cref="IDataParallel.Size"/> is less than 1, its rank is outside <c>[0, Size)</c>, or its bucket size is less than 1.</exception>
    /// <exception cref="InvalidOperationException">Another thread is using the model.</exception>
    public IDataParallel? DataParallel
    {
        get => _dataParallel;
        set
        {
            using var scope = _gate.EnterExclusive(nameof(DataParallel));
            if (value is not null)
            {
                if (value.Size < 1 || (uint)value.Rank >= (uint)value.Size)
                    throw new ArgumentException($"The group has rank {value.Rank} of size {value.Size}; expected a size of at least 1 and a rank in [0, size).", nameof(value));
                if (value.BucketSize < 1)
                    throw new ArgumentException($"The group's BucketSize is {value.BucketSize}; expected at least 1 float.", nameof(value));
            }
            _dataParallel = value;
            _shardView = _shardSource = null;
        }
    }

    /// <summary>
    /// For each backward step, the lowest parameter offset from which every gradient is final once that step has run: layers
    /// with parameters, from the highest offset down, whose last backward step is not later. The backward pass visits layers
    /// from the last to the first, so the finished part of the gradient buffer grows from its end.
    /// </summary>
    private int[] GradientReadiness(ExecutionStep[] steps, int forwardSteps)
    {
        var last = new int[_nodes.Length];
        Array.Fill(last, -1);
        for (int k = forwardSteps; k < steps.Length; k++) last[steps[k].Node] = k;
        var owners = _nodes.Where(n => n.ParameterCount > 0).OrderByDescending(n => n.ParameterOffset).ToArray();
        var ready = new int[steps.Length];
        for (int k = 0; k < steps.Length; k++)
        {
            int from = _parameters.Length;
            foreach (var owner in owners)
            {
                if (last[owner.Index] > k) break;
                from = owner.ParameterOffset;
            }
            ready[k] = from;
        }
        return ready;
    }

    /// <summary>
    /// After backward step <paramref name="step"/>: starts summing the newly finished gradients once they fill a bucket. The
    /// buckets depend only on the plan, so every rank starts the same sums in the same order, as MPI requires.
    /// </summary>
    private void GradientsFinished(int step)
    {
        var group = _dataParallel!;
        int from = _gradientsReadyFrom[step];
        if (_reducedFrom - from >= group.BucketSize)
        {
            group.StartAllReduceSum(_gradients.AsSpan(from, _reducedFrom - from));
            _reducedFrom = from;
        }
        group.Progress();
    }

    /// <summary>
    /// <c>TrainStep</c> in a group (see <see cref="DataParallel"/>): this rank's shard of the global batch forward and backward,
    /// the gradient sum across the group, then the optimizer step every rank takes alike. A non-finite loss or gradient is found
    /// after the sums, so every rank throws at the same step and no rank is left waiting.
    /// </summary>
    private float TrainShard(IDataParallel group, IOptimizer optimizer, ILoss loss, Tensor images, ReadOnlySpan<int> labels, out int correct)
    {
        int total = images.Shape[0], rows = LabelsPerSample;
        var (start, end) = Parallelism.ChunkRange(total, group.Size, group.Rank);
        int n = end - start;
        var metrics = _shardMetrics;
        _gradients.AsSpan().Clear();
        _reducedFrom = _gradients.Length;
        metrics[0] = metrics[1] = 0;
        if (n > 0)
        {
            var output = ForwardCore(ShardView(images, start, n), nameof(images), training: true, keep: true);
            var shardLabels = labels.Slice(start * rows, n * rows);
            var lossGradient = LossGradientView().Span;
            metrics[0] = loss.Compute(output, shardLabels, LossGradientView()) * n;
            metrics[1] = Metrics.CountCorrect(output, shardLabels);
            group.StartAllReduceSum(metrics);
            // The loss gradient is the mean over this shard; the step follows the mean over the global batch.
            TensorPrimitives.Multiply(lossGradient, (float)n / total, lossGradient);
            _reducing = true;
            try
            {
                BackwardCore(inputGradient: false);
            }
            finally
            {
                _reducing = false;
            }
        }
        else
        {
            // Nothing to compute, but the sums must be the same calls on every rank: the same buckets, in the same order.
            group.StartAllReduceSum(metrics);
            for (int step = _forwardSteps; step < _steps.Length; step++) GradientsFinished(step);
        }
        if (_reducedFrom > 0) group.StartAllReduceSum(_gradients.AsSpan(0, _reducedFrom));
        group.WaitAll();
        // The penalties after the sums: every rank adds the same, once.
        float value = metrics[0] / total + Regularize();
        correct = (int)metrics[1];
        if (!float.IsFinite(value)) throw NonFinite(value, optimizer.Iterations + 1, afterBackward: false);
        if (!Finite.All(_gradients))
            throw NonFinite(value, optimizer.Iterations + 1, afterBackward: true);
        optimizer.Step(_whole);
        return value;
    }

    /// <summary>Rows <c>[start, start + n)</c> of <paramref name="images"/>, as a view made again only when the rows or the tensor change.</summary>
    private Tensor ShardView(Tensor images, int start, int n)
    {
        if (!ReferenceEquals(_shardSource, images) || _shardStart != start || _shardView!.Shape[0] != n)
            (_shardView, _shardSource, _shardStart) = (images.SliceBatch(start, n), images, start);
        return _shardView;
    }

    /// <summary>
    /// Replaces the non-trainable state (<see cref="StateBuffer"/>, e.g. moving statistics, which each rank updates from its own
    /// shards) with its mean over the group. <see cref="Fit"/> does it after every epoch; a training loop of your own over
    /// <c>TrainStep</c> calls it where it ends an epoch. Collective; nothing happens without <see cref="DataParallel"/> or state.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another thread is using the model.</exception>
    public void AverageStateAcrossGroup()
    {
        using var scope = _gate.EnterExclusive(nameof(AverageStateAcrossGroup));
        if (_dataParallel is not { } group || _state.Length == 0) return;
        group.AllReduceSum(_state);
        TensorPrimitives.Multiply(_state, 1f / group.Size, _state);
    }
}
