using System;
using System.Globalization;
using System.Text;

namespace ConvGen.Generator.Helpers;

/// <summary>
/// Builds C# text line by line with indentation. Interpolated lines are formatted with the invariant culture, and
/// lines always end in '\n', so the output is the same on every machine.
/// </summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _text = new(16 * 1024);
    private int _indent;

    /// <summary>Writes a line as it is (empty for a blank line).</summary>
    public void Line(string text = "")
    {
        if (text.Length > 0) _text.Append(' ', _indent * 4).Append(text);
        _text.Append('\n');
    }

    /// <summary>Writes an interpolated line, formatting its values invariantly.</summary>
    public void L(FormattableString text) => Line(text.ToString(CultureInfo.InvariantCulture));

    /// <summary>Writes <paramref name="header"/> (if any) and an opening brace, then indents.</summary>
    public void Open(string header = "")
    {
        if (header.Length > 0) Line(header);
        Line("{");
        _indent++;
    }

    /// <summary>Formats <paramref name="header"/> invariantly, then opens a block.</summary>
    public void OpenF(FormattableString header) => Open(header.ToString(CultureInfo.InvariantCulture));

    /// <summary>Unindents and writes a closing brace followed by <paramref name="suffix"/>.</summary>
    public void Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
    }

    public override string ToString() => _text.ToString();
}
