from curate.io.spec import InputSpec
from curate.recipe.loader import Recipe, load_recipe, parse_recipe

__all__ = ["InputSpec", "Recipe", "load_recipe", "parse_recipe"]
