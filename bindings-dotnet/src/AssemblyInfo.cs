// The assembly's identity (SafeTracker.csproj sets GenerateAssemblyInfo=false so that `mcs` and
// `dotnet build` compile the same attributes; tests/run.sh checks the version against
// Cargo.toml's).
using System.Reflection;
using System.Runtime.CompilerServices;

[assembly: AssemblyTitle("SafeTracker")]
[assembly: AssemblyDescription("Typed .NET client and throttled sequential poller for the SAFE evidence-management API (Tracker Products)")]
[assembly: AssemblyVersion("0.1.0.0")]
[assembly: AssemblyFileVersion("0.1.0.0")]
[assembly: AssemblyInformationalVersion("0.1.0")]
[assembly: InternalsVisibleTo("SafeTracker.Tests")]
