-- ivoa.obscore.s_region becomes a pgSphere polygon: the ADQL engine maps region columns (xtype
-- adql:REGION) to polygons, and ObsCore regions are usually polygons. The value is the polygon
-- inscribed in the field-of-view circle (jmmctap.catalogues.obscore_store.circle_polygon).
ALTER TABLE ivoa.obscore ALTER COLUMN s_region TYPE spoly USING NULL;
