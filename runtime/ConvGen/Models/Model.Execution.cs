using System;

namespace ConvGen;

public abstract partial class Model : IPhaseRunner
{
    private ExecutionStep[] _steps = [];
    private int _forwardSteps;
    private int _scratchSize;
    private float[][] _scratch = [];
    private ExecutionStep[] _running = [];
    private float[] _input = [];
    private int _inputOffset;
    private Tensor? _outputView, _lossGradientView;

    /// <summary>
    /// Runs every layer on a batch and returns the output: a view of the model's buffer, overwritten by the next call (copy it,
    /// or use <see cref="Predict"/>). <paramref name="training"/> runs the layers in training mode (dropout active). Every
    /// activation is kept, and the batch too, for a <see cref="Backward"/> that may follow.
    /// </summary>
    /// <exception cref="ShapeMismatchException"><paramref name="input"/> is not a batch of <see cref="InputShape"/> samples, or (a compiled network) has more than <see cref="MaxBatchSize"/>.</exception>
    /// <exception cref="InvalidOperationException">The model is not built, or another thread is using it.</exception>
    public Tensor Forward(Tensor input, bool training = false)
    {
        using var scope = _gate.EnterExclusive(nameof(Forward));
        return ForwardCore(input, nameof(input), training, keep: true);
    }

    /// <summary>
    /// Back-propagates <paramref name="outputGradient"/> (shaped like the last <see cref="Forward"/> output) and <b>adds</b> every
    /// parameter gradient into <see cref="GradientBuffer"/> (call <see cref="ZeroGradients"/> first for a fresh gradient). When
    /// <paramref name="inputGradient"/> is given, it receives the gradient with respect to the model's input.
    /// </summary>
    /// <exception cref="ShapeMismatchException">A gradient tensor is not shaped like the last output or input.</exception>
    /// <exception cref="InvalidOperationException">No <see cref="Forward"/> kept activations for it (or Predict/Evaluate ran since), or another thread is using the model.</exception>
    public void Backward(Tensor outputGradient, Tensor? inputGradient = null)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        using var scope = _gate.EnterExclusive(nameof(Backward));
        if (!IsBuilt) throw NotBuilt();
        if (CurrentBatch == 0) throw new InvalidOperationException("Backward was called before Forward.");
        if (!CurrentKeep)
            throw new InvalidOperationException("Backward needs the activations of a Forward call, but Predict or Evaluate ran after the last Forward; call Forward again first.");
        var expected = OutputView().Shape;
        if (outputGradient.Shape != expected)
            throw new ShapeMismatchException(nameof(outputGradient), expected.ToString(), outputGradient.Shape.ToString(), "Backward needs the shape of the last forward output");
        if (inputGradient is not null && !(IsBatchOfInputs(inputGradient.Shape) && inputGradient.Shape[0] == CurrentBatch))
            throw new ShapeMismatchException(nameof(inputGradient), _inputShape.WithBatch(CurrentBatch).ToString(), inputGradient.Shape.ToString(), "Backward writes the gradient of the last forward input");
        outputGradient.Span.CopyTo(SlotGradients(_outputSlot));
        BackwardCore(inputGradient is not null);
        if (inputGradient is not null) SlotGradients(0).CopyTo(inputGradient.Span);
    }

    /// <summary>Sets every gradient to zero (one loop over <see cref="GradientBuffer"/>).</summary>
    /// <exception cref="InvalidOperationException">Another thread is using the model.</exception>
    public void ZeroGradients()
    {
        using var scope = _gate.EnterExclusive(nameof(ZeroGradients));
        _gradients.AsSpan().Clear();
    }

    /// <summary>The forward pass over <paramref name="input"/>; <paramref name="keep"/> is false only for Predict and Evaluate.</summary>
    private Tensor ForwardCore(Tensor input, string paramName, bool training, bool keep)
    {
        if (!IsBuilt) throw NotBuilt();
        int batch = CheckSamples(input, paramName);
        EnsureCapacity(batch, paramName, input.Shape);
        (_input, _inputOffset) = input.Storage;
        CurrentBatch = batch;
        CurrentTraining = training;
        CurrentKeep = keep;
        if (training) TrainingPasses++;
        CurrentFolded = RunsFolded(training, keep);
        if (CurrentFolded)
        {
            if (_foldedVersion != WeightsVersion) Fold();
            RunForward(_inferenceSteps!, _inferenceSteps!.Length, _inferenceDepthFirst);
        }
        else
        {
            RunForward(_steps, _forwardSteps, _forwardDepthFirst);
        }
        return OutputView();
    }

    /// <summary>The backward pass; the loss gradient is already in the last layer's gradient buffer.</summary>
    private void BackwardCore(bool inputGradient)
    {
        if (inputGradient && _deltas[0].Length < CurrentBatch * _slotSizes[0])
            _deltas[0] = new float[_slotSizes[0] * Math.Max(_capacity, CurrentBatch)];
        InputGradientRequested = inputGradient;
        try
        {
            Run(_steps, _forwardSteps, _steps.Length);
        }
        finally
        {
            InputGradientRequested = false;
        }
    }

    /// <summary>
    /// Runs <paramref name="steps"/> <c>[from, to)</c> (the plan's, or the folded inference plan's), each split over the worker
    /// threads: at most one part per sample, but every thread for the forward pass of a layer that
    /// <see cref="Layer.SplitsWithinSample"/> (a convolution on fewer samples than threads).
    /// </summary>
    private void Run(ExecutionStep[] steps, int from, int to)
    {
        _running = steps;
        var pool = WorkerPool.Shared;
        int parts = Math.Min(pool.Threads, CurrentBatch);
        EnsureScratch(parts);
        for (int step = from; step < to; step++)
        {
            var s = steps[step];
            bool withinSample = !s.Backward && parts < pool.Threads && _nodes[s.Node].Layer.SplitsWithinSample;
            pool.Run(this, step, withinSample ? pool.Threads : parts);
            if (s.Backward && _reducing) GradientsFinished(step);
        }
    }

    /// <summary>Scratch for <paramref name="parts"/> parts.</summary>
    private void EnsureScratch(int parts)
    {
        if (_scratchSize == 0 || _scratch.Length >= parts) return;
        var scratch = new float[parts][];
        for (int p = 0; p < parts; p++) scratch[p] = p < _scratch.Length ? _scratch[p] : new float[_scratchSize];
        _scratch = scratch;
    }

    void IPhaseRunner.RunPhase(int phase, int part, int parts)
    {
        if (phase == FoldPhase)
        {
            FoldPart(part, parts);
            return;
        }
        if (phase == DepthFirstPhase)
        {
            RunDepthFirst(part, parts);
            return;
        }
        var step = _running[phase];
        var node = _nodes[step.Node];
        var context = new NodeContext(this, node, step.Phase, part, parts);
        if (step.Backward) node.Layer.RunBackward(in context);
        else node.Layer.RunForward(in context);
    }

    /// <summary>Forgets the last batch (after the buffers or the graph changed).</summary>
    private void ResetCallState()
    {
        CurrentBatch = 0;
        CurrentKeep = false;
        _input = [];
        _inputOffset = 0;
        _outputView = _lossGradientView = null;
    }

    /// <summary>The last output for the current batch, as a cached view.</summary>
    private Tensor OutputView() => BatchView(ref _outputView, _activations[_outputSlot], Buffers.Start64(_activations[_outputSlot]));

    /// <summary>The gradient of the last output for the current batch, where the loss writes it.</summary>
    private Tensor LossGradientView() => BatchView(ref _lossGradientView, _deltas[_outputSlot], 0);

    /// <summary>A view of <paramref name="buffer"/> as the current batch of outputs, made again only when the batch size changes.</summary>
    private Tensor BatchView(ref Tensor? view, float[] buffer, int start)
    {
        if (view is null || view.Shape[0] != CurrentBatch) view = new Tensor(_nodes[^1].OutputShape.WithBatch(CurrentBatch), buffer, start);
        return view;
    }

    /// <summary>The batch size of <paramref name="input"/>, after checking that its samples are of <see cref="InputShape"/>.</summary>
    private int CheckSamples(Tensor input, string paramName)
    {
        ArgumentNullException.ThrowIfNull(input, paramName);
        var shape = input.Shape;
        if (!IsBatchOfInputs(shape))
            throw new ShapeMismatchException(paramName, $"(batch, {_inputShape.ToString().Trim('(', ')', ',')})", shape.ToString(),
                $"{GetType().Name}: {paramName} must be a batch of samples of the model's input shape {_inputShape}");
        return shape[0];
    }

    /// <summary>Whether <paramref name="shape"/> is a batch of samples of the input shape; compared in place, since WithoutBatch() would allocate a shape on every step.</summary>
    private bool IsBatchOfInputs(Shape shape) => shape.Rank == _inputShape.Rank + 1 && shape.Dimensions[1..].SequenceEqual(_inputShape.Dimensions);
}
