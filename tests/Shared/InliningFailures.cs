using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Linq;

namespace ConvGen.Testing;

/// <summary>
/// The JIT's inlining failures in this process while it lives: the runtime's <c>MethodJitInliningFailed</c> events (keyword
/// JitTracing), each as the method being compiled, the callee it did not inline and why ("inline exceeds budget", ...).
/// Only methods compiled while it listens are seen: tests give it kernels no one has called yet (a fresh in-memory assembly).
/// </summary>
public sealed class InliningFailures : EventListener, IEnumerable<(string Method, string Inlinee, string Reason)>
{
    private const EventKeywords JitTracing = (EventKeywords)0x1000;
    private readonly List<(string, string, string)> _failures = [];

    public int Count { get { lock (_failures) return _failures.Count; } }

    /// <summary>Waits until no event has arrived for a while (the runtime delivers them on its own thread, late), at most 5 s.</summary>
    public void Settle()
    {
        int last = -1;
        for (int i = 0; i < 25 && Count != last; i++)
        {
            last = Count;
            System.Threading.Thread.Sleep(200);
        }
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, JitTracing);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is null || !e.EventName.StartsWith("MethodJitInliningFailed", StringComparison.Ordinal) || e.PayloadNames is null || e.Payload is null) return;
        string Field(string name) => e.PayloadNames.IndexOf(name) is var i and >= 0 ? e.Payload[i]?.ToString() ?? "" : "";
        var failure = (Field("MethodBeingCompiledNamespace") + "." + Field("MethodBeingCompiledName"),
            Field("InlineeNamespace") + "." + Field("InlineeName"), Field("FailReason"));
        lock (_failures) _failures.Add(failure);
    }

    public IEnumerator<(string Method, string Inlinee, string Reason)> GetEnumerator()
    {
        lock (_failures) return _failures.ToList().GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
