using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("VlmService.Tests")]
