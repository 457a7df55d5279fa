using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace ConvGen.Reporting;

/// <summary>
/// Writes markup that is both HTML5 and well-formed XML: every text and attribute value is escaped, non-void HTML
/// elements always get an end tag, and only SVG shapes and void HTML elements (<c>meta</c>) are self-closed.
/// <see cref="ToString"/> refuses to return a document with an element left open.
/// </summary>
internal sealed class MarkupWriter
{
    private readonly StringBuilder _text = new();
    private readonly Stack<string> _open = new();

    /// <summary>Writes <paramref name="markup"/> as it is: only for constant markup such as the doctype or the style sheet.</summary>
    public MarkupWriter Raw(string markup)
    {
        _text.Append(markup);
        return this;
    }

    /// <summary>Writes escaped text.</summary>
    public MarkupWriter Text(string text)
    {
        Escape(text, _text);
        return this;
    }

    /// <summary>Opens <paramref name="tag"/>; <see cref="Close"/> ends it.</summary>
    public MarkupWriter Open(string tag, params ReadOnlySpan<(string Name, string Value)> attributes)
    {
        StartTag(tag, attributes);
        _text.Append('>');
        _open.Push(tag);
        return this;
    }

    /// <summary>Ends the innermost open element.</summary>
    public MarkupWriter Close()
    {
        _text.Append("</").Append(_open.Pop()).Append('>');
        return this;
    }

    /// <summary>Writes <c>&lt;tag ...&gt;text&lt;/tag&gt;</c>.</summary>
    public MarkupWriter Element(string tag, string text, params ReadOnlySpan<(string Name, string Value)> attributes)
        => Open(tag, attributes).Text(text).Close();

    /// <summary>Writes a self-closed element: an SVG shape or a void HTML element.</summary>
    public MarkupWriter Empty(string tag, params ReadOnlySpan<(string Name, string Value)> attributes)
    {
        StartTag(tag, attributes);
        _text.Append(" />");
        return this;
    }

    /// <summary>The document.</summary>
    /// <exception cref="InvalidOperationException">An element is still open.</exception>
    public override string ToString()
        => _open.Count == 0 ? _text.ToString() : throw new InvalidOperationException($"<{_open.Peek()}> was never closed.");

    /// <summary>A number for an attribute or a label: invariant, at most <paramref name="decimals"/> decimals, no trailing zeros.</summary>
    public static string Number(double value, int decimals = 2)
        => Math.Round(value, decimals).ToString(decimals switch { 0 => "0", 1 => "0.#", 2 => "0.##", 3 => "0.###", _ => "0.####" }, CultureInfo.InvariantCulture);

    /// <summary>Escapes the five characters XML reserves, and drops the control characters XML forbids.</summary>
    public static void Escape(string text, StringBuilder to)
    {
        foreach (char c in text)
        {
            switch (c)
            {
                case '&': to.Append("&amp;"); break;
                case '<': to.Append("&lt;"); break;
                case '>': to.Append("&gt;"); break;
                case '"': to.Append("&quot;"); break;
                case '\'': to.Append("&#39;"); break;
                case < ' ' and not ('\n' or '\r' or '\t'): break;
                default: to.Append(c); break;
            }
        }
    }

    private void StartTag(string tag, ReadOnlySpan<(string Name, string Value)> attributes)
    {
        _text.Append('<').Append(tag);
        foreach (var (name, value) in attributes)
        {
            _text.Append(' ').Append(name).Append("=\"");
            Escape(value, _text);
            _text.Append('"');
        }
    }
}
