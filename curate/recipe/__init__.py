from curate.recipe.loader import InputSpec, Recipe, load_recipe, parse_recipe

__all__ = ["InputSpec", "Recipe", "load_recipe", "parse_recipe"]
