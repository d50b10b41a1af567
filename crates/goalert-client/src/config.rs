//! System configuration and system limits: read all, write only the given entries.

use std::collections::BTreeMap;

use super::{
    GoAlert, Result,
    model::{ConfigType, ConfigValue},
    operations::*,
};
use crate::secret::Secret;

impl GoAlert {
    /// Every config setting with its type and value.
    pub async fn config(&self) -> Result<Vec<ConfigValue>> {
        let data = self.run::<ConfigValues>(config_values::Variables {}).await?;
        Ok(data
            .config
            .into_iter()
            .map(|c| ConfigValue {
                kind: match c.type_ {
                    config_values::ConfigType::stringList => ConfigType::StringList,
                    config_values::ConfigType::integer => ConfigType::Integer,
                    config_values::ConfigType::boolean => ConfigType::Boolean,
                    // A type newer than this operator is compared as plain text.
                    config_values::ConfigType::string | config_values::ConfigType::Other(_) => {
                        ConfigType::String
                    }
                },
                id: c.id,
                password: c.password,
                value: Secret::new(c.value),
            })
            .collect())
    }

    /// Sets these settings in one call: GoAlert validates the whole merged configuration once, so
    /// settings that depend on each other (an Enable and its credentials) must travel together.
    /// Settings not listed keep their values.
    pub async fn set_config(&self, values: &[(&str, &Secret)]) -> Result<()> {
        let input = values
            .iter()
            .map(|(id, value)| set_config::ConfigValueInput {
                id: (*id).to_owned(),
                value: value.expose().to_owned(),
            })
            .collect();
        self.run::<SetConfig>(set_config::Variables { input: Some(input) })
            .await
            .map(drop)
    }

    /// Every system limit by GoAlert's ID; -1 is unlimited.
    pub async fn system_limits(&self) -> Result<BTreeMap<String, i64>> {
        let data = self
            .run::<SystemLimitValues>(system_limit_values::Variables {})
            .await?;
        Ok(data.system_limits.into_iter().map(|l| (l.id, l.value)).collect())
    }

    /// Sets these limits in one transaction; limits not listed keep their values.
    pub async fn set_system_limits(&self, limits: &[(String, i64)]) -> Result<()> {
        let input = limits
            .iter()
            .map(|(id, value)| set_system_limits::SystemLimitInput {
                id: id.clone(),
                value: *value,
            })
            .collect();
        self.run::<SetSystemLimits>(set_system_limits::Variables { input })
            .await
            .map(drop)
    }
}
