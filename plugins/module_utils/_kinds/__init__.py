# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One handler per kind of object the modules manage (docs/engine.md). Modules import their own
handler module only, so a module's payload carries no other kind."""
