import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".data/", ".wrangler/", "worker-configuration.d.ts", "migrations/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Durable Object and queue handlers must be prototype methods, never arrow-function fields.
      "no-restricted-syntax": [
        "error",
        {
          selector: "ClassDeclaration[superClass.name='DurableObject'] PropertyDefinition > ArrowFunctionExpression",
          message: "Durable Object methods belong on the prototype (RPC), not as arrow-function fields.",
        },
      ],
    },
  },
);
