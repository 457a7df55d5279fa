using System;
using System.Collections.Generic;
using System.Globalization;

namespace ConvGen.Generator.Tests.Fuzz;

/// <summary>
/// One attribute argument as written, and what C# makes of it.
/// <see cref="Value"/> is the constant's value when the text is a constant of the argument's type (a bool as 0/1, an
/// enum as its underlying int); null when it is not a constant of that type (a wrong type, or not constant at all), the
/// case CONVGEN014 covers (docs/attributes.md).
/// </summary>
internal readonly record struct Expr(string Text, int? Value)
{
    public bool IsConstant => Value is not null;

    public override string ToString() => Text;
}

/// <summary>
/// Writes C# expressions for attribute arguments in many spellings: literals in every base, digit separators, casts,
/// constant folding, <c>sizeof</c>, chars, constants declared elsewhere, conditional constants, unchecked wrap-around.
/// Each constant spelling is one whose value C# defines exactly, so the fuzzer knows the value the generator must see
/// without asking the compiler. Also writes wrongly typed and non-constant expressions (whose value is unknown).
/// Constants and fields it refers to are collected in <see cref="Declarations"/>, to be emitted as members of the
/// static class <see cref="HolderName"/> next to the annotated class.
/// </summary>
internal sealed class Expressions(Random rng, string holderName, string enumPrefix)
{
    private int _next;

    /// <summary>The static class that holds the constants and fields the expressions refer to.</summary>
    public string HolderName { get; } = holderName;

    /// <summary>Members of <see cref="HolderName"/>, one a line.</summary>
    public List<string> Declarations { get; } = [];

    /// <summary>Prefix for ConvGen's enum types: "" after <c>using ConvGen;</c>, else <c>global::ConvGen.</c>.</summary>
    public string EnumPrefix { get; } = enumPrefix;

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A plain literal for <paramref name="v"/>; negative values get a unary minus (so <c>-2147483648</c> is int.MinValue).</summary>
    public static string Literal(int v) => v < 0 ? "-" + Invariant(-(long)v) : Invariant(v);

    /// <summary>Declares a member <c>public {type} M{n}{suffix} {initializer}</c> of the holder class and returns its qualified name.</summary>
    private string Declare(string type, string initializer, string suffix = "")
    {
        string name = "M" + Invariant(_next++);
        Declarations.Add($"public {type} {name}{suffix} {initializer}");
        return $"{HolderName}.{name}";
    }

    /// <summary>A constant expression of type int (or implicitly convertible to int) whose value is <paramref name="v"/>.</summary>
    public Expr Int(int v) => new(IntText(v, depth: 0), v);

    private string IntText(int v, int depth)
    {
        // Spellings, tried in random order until one applies to v.
        for (int attempt = 0; attempt < 8; attempt++)
        {
            switch (rng.Next(20))
            {
                case 0: case 1: case 2: case 3: return Literal(v);
                case 4 when v >= 0: return "0x" + v.ToString("X", CultureInfo.InvariantCulture);
                case 5 when v >= 0: return "0b" + Convert.ToString(v, 2);
                case 6 when v >= 1000: return DigitSeparated(v);
                case 7 when v == int.MaxValue: return "int.MaxValue";
                case 7 when v == int.MinValue: return rng.Next(2) == 0 ? "int.MinValue" : "unchecked(int.MaxValue + 1)";
                case 7 when v is > int.MaxValue - 100 and < int.MaxValue: return $"int.MaxValue - {int.MaxValue - v}";
                case 8 when v > 0 && (v & (v - 1)) == 0: return $"1 << {System.Numerics.BitOperations.Log2((uint)v)}";
                case 9 when depth < 2:
                {
                    // a + b == v without overflow, in a checked constant context.
                    long a = rng.Next(-1000, 1000), b = (long)v - a;
                    if (b is < int.MinValue or > int.MaxValue) break;
                    return $"{Paren(IntText((int)a, depth + 1))} + {Paren(IntText((int)b, depth + 1))}";
                }
                case 10 when depth < 2: return $"~{Paren(IntText(~v, depth + 1))}";
                case 11: return Declare("const int", $"= {Literal(v)};");
                case 12 when v is >= 0 and <= 0xFFFF: return $"'\\u{v:X4}'"; // char converts implicitly to int
                case 13 when v is >= short.MinValue and <= short.MaxValue: return $"(short){Paren(Literal(v))}";
                case 14 when v is >= 0 and <= 255: return $"(byte){v}";
                case 15 when Math.Abs((long)v) < 1 << 30: return $"(int){Paren(Literal(v) + ".75")}"; // truncates toward zero
                case 16 when v < 0 && v != int.MinValue: return $"unchecked((int)0x{(uint)v:X8})";
                case 17 when depth < 2: return $"true ? {IntText(v, depth + 1)} : 0";
                case 18 when v is 1 or 2 or 4 or 8: return v switch { 1 => "sizeof(byte)", 2 => "sizeof(short)", 4 => "sizeof(int)", _ => "sizeof(long)" };
                case 18 when v == 0: return rng.Next(3) switch
                {
                    0 when depth == 0 => "default", // no operator applies to a bare default
                    1 => "new int()", // C# accepts it as an attribute argument: the constant 0
                    _ => "default(int)",
                };
                case 19 when v is 0 or 1: return $"(int){EnumPrefix}Padding.{(v == 0 ? "Valid" : "Same")}";
                case 19 when depth < 2: return $"({IntText(v, depth + 1)})";
            }
        }
        return Literal(v);
    }

    private static string Paren(string text) => text.StartsWith('-') || text.Contains(' ') ? $"({text})" : text;

    private static string DigitSeparated(int v)
    {
        string digits = Invariant(v);
        var parts = new List<string>();
        for (int end = digits.Length; end > 0; end -= 3) parts.Insert(0, digits[Math.Max(0, end - 3)..end]);
        return string.Join("_", parts);
    }

    /// <summary>One of <paramref name="options"/>, at random; only the chosen one runs (so only it declares holder members).</summary>
    private string Pick(params Func<string>[] options) => options[rng.Next(options.Length)]();

    /// <summary>An expression in an int slot that is not a constant int: a wrong type, or a non-constant value.</summary>
    public Expr NotAnInt()
    {
        string v = Invariant(rng.Next(1, 9));
        return new(Pick(
            // Wrong types: no implicit conversion to int.
            () => v + "L", () => v + "u", () => v + ".0", () => v + ".5f", () => v + "m", () => $"\"{v}\"", () => "true", () => "null",
            () => $"{EnumPrefix}Padding.Same", () => $"(long){v}", () => "typeof(int)", () => $"(object){v}", () => $"new[] {{ {v} }}",
            // Not constants.
            () => Declare("static int", $"= {v};"), () => Declare("static readonly int", $"= {v};"),
            () => Declare("static int", $"=> {v};"), () => Declare("static int", $"=> {v};", "()") + "()",
            () => "\"abc\".Length", () => $"int.Parse(\"{v}\")", () => "System.Environment.ProcessorCount",
            // Constant expressions the compiler rejects: overflow in a checked context, division by zero.
            () => "int.MaxValue + 1", () => $"{v} / 0", () => "checked(int.MinValue - 1)"), null);
    }

    /// <summary>A constant bool expression whose value is <paramref name="v"/>.</summary>
    public Expr Bool(bool v)
    {
        string literal = v ? "true" : "false";
        return new(Pick(
            () => literal, () => literal, () => literal, () => $"!{(v ? "false" : "true")}", () => v ? "1 > 0" : "1 < 0",
            () => v ? "0 == 0" : "0 != 0", () => $"(bool){literal}", () => $"{literal} && true",
            () => Declare("const bool", $"= {literal};"), () => v ? "true" : rng.Next(2) == 0 ? "default" : "default(bool)"), v ? 1 : 0);
    }

    /// <summary>An expression in the bool slot that is not a constant bool.</summary>
    public Expr NotABool() => new(Pick(
        () => "1", () => "0", () => "\"true\"", () => "null", () => $"{EnumPrefix}Padding.Same", () => "1.0",
        () => Declare("static bool", "= true;"), () => "bool.Parse(\"true\")", () => "System.Environment.Is64BitProcess"), null);

    /// <summary>The two members of each ConvGen enum the fuzzer uses, by value 0 and 1.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> EnumMembers = new Dictionary<string, string[]>
    {
        ["Padding"] = ["Valid", "Same"],
        ["Activation"] = ["None", "ReLU"],
    };

    /// <summary>
    /// A constant of enum type <paramref name="type"/> (Padding or Activation) with underlying value <paramref name="v"/>,
    /// defined or not: C# lets a cast, or enum arithmetic, make any int value of the enum type.
    /// </summary>
    public Expr Enum(string type, int v)
    {
        string t = EnumPrefix + type;
        var members = EnumMembers[type];
        for (int attempt = 0; attempt < 8; attempt++)
        {
            switch (rng.Next(10))
            {
                case < 4 when v is 0 or 1: return new($"{t}.{members[v]}", v);
                case 4: return new($"({t}){Paren(Literal(v))}", v);
                case 5 when v == 0: return new(rng.Next(3) switch { 0 => "0", 1 => "default", _ => $"default({t})" }, v); // literal 0 converts to any enum
                case 6 when v == 1: return new($"{t}.{members[1]} | {t}.{members[0]}", v);
                case 7 when v > 1 && v < 1000: return new($"{t}.{members[1]} + {v - 1}", v); // enum + int is the enum type
                case 8 when v == -1: return new($"~{t}.{members[0]}", v);
                case 9: return new(Declare($"const {t}", $"= ({t}){Paren(Literal(v))};"), v);
            }
        }
        return new($"({t}){Paren(Literal(v))}", v);
    }

    /// <summary>An expression in an enum slot that is not a constant of that enum type.</summary>
    public Expr NotAnEnum(string type)
    {
        string t = EnumPrefix + type, otherType = type == "Padding" ? "Activation" : "Padding";
        return new(Pick(
            () => "1", () => "2", () => $"{EnumPrefix}{otherType}.{EnumMembers[otherType][1]}", () => "true", () => "\"Same\"", () => "null",
            () => "1.0", () => $"(int){t}.{EnumMembers[type][1]}", () => Declare($"static {t}", $"= ({t})1;"),
            () => $"System.Enum.Parse<{t}>(\"{EnumMembers[type][1]}\")"), null);
    }
}
