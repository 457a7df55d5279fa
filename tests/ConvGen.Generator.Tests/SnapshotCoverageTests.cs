using System;
using System.IO;
using System.Linq;
using ConvGen.Generator.Tests.Helpers;
using Xunit;

namespace ConvGen.Generator.Tests;

/// <summary>Keeps Snapshots/ honest: every verified file belongs to a test that still exists.</summary>
public sealed class SnapshotCoverageTests
{
    [Fact]
    public void EveryVerifiedFileHasATest()
    {
        Assert.True(Directory.Exists(Snapshot.Directory), $"Snapshot folder {Snapshot.Directory} not found.");
        var tests = Snapshot.SnapshotTestMethods();
        var orphans = Directory.EnumerateFiles(Snapshot.Directory, "*.verified.*")
            .Select(Path.GetFileName)
            .Where(name => !tests.Contains(TestOf(name!)))
            .OrderBy(name => name, StringComparer.Ordinal)
            .ToList();
        Assert.True(orphans.Count == 0,
            "These verified files match no [Fact]/[Theory] {TestClass}.{TestMethod}; delete or rename them:\n" + string.Join("\n", orphans));
    }

    [Theory]
    [InlineData("GeneratedSourceTests.EdgeKernel1x2#Samples.EdgeConv.g.cs.verified.cs", "GeneratedSourceTests.EdgeKernel1x2")]
    [InlineData("DiagnosticTests.CONVGEN005_FiltersTooSmall.verified.txt", "DiagnosticTests.CONVGEN005_FiltersTooSmall")]
    public void VerifiedFileNamesParse(string fileName, string test) => Assert.Equal(test, TestOf(fileName));

    /// <summary><c>{TestClass}.{TestMethod}</c> from <c>{TestClass}.{TestMethod}#{HintName}.verified.cs</c> or <c>{TestClass}.{TestMethod}.verified.txt</c>.</summary>
    private static string TestOf(string fileName)
    {
        string name = fileName[..fileName.IndexOf(".verified.", StringComparison.Ordinal)];
        int hash = name.IndexOf('#');
        return hash < 0 ? name : name[..hash];
    }
}
