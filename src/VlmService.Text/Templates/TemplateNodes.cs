namespace VlmService.Text.Templates;

internal abstract record Node;

internal sealed record TextNode(string Text) : Node;

internal sealed record OutputNode(Expr Value) : Node;

internal sealed record IfNode(List<(Expr Condition, List<Node> Body)> Branches, List<Node> Else) : Node;

internal sealed record ForNode(List<string> Targets, Expr Iterable, Expr? Filter, List<Node> Body, List<Node> Else) : Node;

internal sealed record SetNode(Expr Target, Expr Value) : Node;

internal abstract record Expr;

internal sealed record LiteralExpr(object? Value) : Expr;

internal sealed record NameExpr(string Name) : Expr;

internal sealed record ListExpr(List<Expr> Items) : Expr;

internal sealed record DictExpr(List<(Expr Key, Expr Value)> Items) : Expr;

internal sealed record MemberExpr(Expr Target, Expr Key, bool IsAttribute) : Expr;

internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop) : Expr;

internal sealed record CallExpr(Expr Callee, List<Expr> Args, List<(string Name, Expr Value)> Keywords) : Expr;

internal sealed record FilterExpr(Expr Value, string Name, List<Expr> Args) : Expr;

internal sealed record TestExpr(Expr Value, string Name, bool Negated) : Expr;

internal sealed record UnaryExpr(string Op, Expr Operand) : Expr;

internal sealed record BinaryExpr(string Op, Expr Left, Expr Right) : Expr;

internal sealed record ConditionalExpr(Expr Condition, Expr Then, Expr? Else) : Expr;
