from django import template

from espace_sante import french, labels, notifications

register = template.Library()

register.filter("action_label", labels.action_label)
register.filter("role_label", labels.role_label)
register.filter("basis_label", labels.basis_label)
register.filter("portal_text", notifications.portal_text)
# French elision: {{ name|de }} gives « d'Élodie Roux », {{ noun|le }} « l'assuré ».
register.filter("de", french.de)
register.filter("le", french.le)
