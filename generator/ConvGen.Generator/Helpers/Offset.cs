using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace ConvGen.Generator.Helpers;

/// <summary>
/// An index expression for generated code, kept as a sum of symbolic terms and one folded constant, so an offset prints as
/// <c>2 * rowStep + c + 160</c> rather than <c>2 * rowStep + 128 + c + 32</c>.
/// </summary>
internal readonly struct Offset
{
    private readonly (string Symbol, long Coefficient)[] _terms;
    private readonly long _constant;

    private Offset((string, long)[] terms, long constant)
    {
        _terms = terms;
        _constant = constant;
    }

    public static readonly Offset Zero = new([], 0);

    /// <summary>A symbol (a variable or a parenthesised expression) times <paramref name="coefficient"/>.</summary>
    public static Offset Of(string symbol, long coefficient = 1) => coefficient == 0 ? Zero : new([(symbol, coefficient)], 0);

    public static implicit operator Offset(long constant) => new([], constant);

    public static Offset operator +(Offset a, Offset b)
    {
        var terms = new List<(string Symbol, long Coefficient)>(a.Terms);
        foreach (var (symbol, coefficient) in b.Terms)
        {
            int at = terms.FindIndex(t => t.Symbol == symbol);
            if (at < 0) terms.Add((symbol, coefficient));
            else terms[at] = (symbol, terms[at].Coefficient + coefficient);
        }
        return new Offset(terms.Where(t => t.Coefficient != 0).ToArray(), a._constant + b._constant);
    }

    private (string Symbol, long Coefficient)[] Terms => _terms ?? [];

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var (symbol, coefficient) in Terms)
        {
            if (text.Length > 0) text.Append(" + ");
            if (coefficient != 1) text.Append(coefficient.ToString(CultureInfo.InvariantCulture)).Append(" * ");
            text.Append(symbol);
        }
        if (_constant != 0 || text.Length == 0)
        {
            if (text.Length > 0) text.Append(_constant < 0 ? " - " : " + ");
            text.Append((text.Length > 0 ? System.Math.Abs(_constant) : _constant).ToString(CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }
}
